import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { databaseErrorFor } from '../database/database-faults';
import {
  IDEMPOTENCY_TTL_MS,
  IN_PROGRESS_TAKEOVER_MS,
  PURGE_BATCH_SIZE,
  PURGE_MAX_BATCHES,
} from './idempotency.constants';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyStoreUnavailableError,
} from './idempotency.errors';
import {
  type Claim,
  IdempotencyKeyRepository,
  type StoredResponse,
} from './idempotency-key.repository';

export type BeginResult =
  { kind: 'claimed'; claim: Claim } | { kind: 'replay'; response: StoredResponse };

/** How often a claim whose release failed is offered back, in ms. */
const RELEASE_RETRY_MS = 1000;

/** A concurrent claim can hide a row from one statement's snapshot; the next one sees it. */
const CLAIM_ATTEMPTS = 3;

/**
 * Idempotency-Key bookkeeping, independent of HTTP. Exactly once at every crash point:
 *
 * 1. `begin` claims (scope, key) in a statement of its own and commits it: an in_progress row.
 *    No transaction stays open, so the handler can wait for a Redis lock without holding a
 *    pool connection or a row lock.
 * 2. The handler takes its lock, then runs its change in a transaction (TransactionRunner),
 *    and `completeWith` writes the answer into the key's row as the last statement of that
 *    same transaction. The change and its answer commit together or not at all.
 * 3. Refusals (409, 422...) change nothing, so `complete` stores them afterwards; a 400 and
 *    every 5xx are `abandon`ed instead, so the corrected or later retry runs.
 *
 * Crash anywhere before the COMMIT: the change rolled back and the key is still in_progress.
 * Retries get 409 IDEMPOTENCY_IN_PROGRESS until the claim is IN_PROGRESS_TAKEOVER_MS old, then
 * take it over and run once. Crash after the COMMIT: the key is completed; retries replay.
 * A takeover of a claim whose first owner is in fact still running is safe too: `completeWith`
 * only completes a claim that is still ours (same updated_at token), else the owner's change
 * rolls back, and the key's row lock orders the two.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger('Idempotency');

  constructor(private readonly keys: IdempotencyKeyRepository) {}

  /**
   * Claims (scope, key) for this request, or returns the stored response to replay.
   * Throws IDEMPOTENCY_KEY_REUSED for another request under the same key, and
   * IDEMPOTENCY_IN_PROGRESS while the first one is still running.
   */
  async begin(scope: string, key: string, fingerprint: string): Promise<BeginResult> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const outcome = await this.store(() =>
        this.keys.claim(scope, key, fingerprint, IDEMPOTENCY_TTL_MS, IN_PROGRESS_TAKEOVER_MS),
      );
      if (outcome.kind === 'applied') return { kind: 'claimed', claim: outcome.row };
      const { existing } = outcome;
      if (existing === null) continue;
      if (existing.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      if (existing.status === 'in_progress' || !existing.response) {
        throw new IdempotencyInProgressError();
      }
      return { kind: 'replay', response: existing.response };
    }
    // Three claims in a row lost to concurrent changes: someone is actively using the key.
    throw new IdempotencyInProgressError();
  }

  /**
   * Stores the response for replays. A failure here is logged, not thrown: the business change
   * is committed and the client deserves its answer; the claim then ages into a takeover.
   */
  async complete(claim: Claim, response: StoredResponse): Promise<void> {
    try {
      const stored = await this.keys.complete(claim, response, IDEMPOTENCY_TTL_MS);
      if (!stored) {
        this.logger.warn(
          { scope: claim.scope },
          'idempotency claim was taken over before its response was stored',
        );
      }
    } catch (error) {
      this.logger.error({ err: error, scope: claim.scope }, 'storing idempotent response failed');
    }
  }

  /**
   * Stores the answer inside the caller's transaction (the one that commits the change). False
   * when the claim was taken over: the caller must then roll its change back.
   */
  completeWith(manager: EntityManager, claim: Claim, response: StoredResponse): Promise<boolean> {
    return this.keys.completeWith(manager, claim, response, IDEMPOTENCY_TTL_MS);
  }

  /**
   * Gives the key back (after a 400, a 5xx or an unexpected error) so the client can retry it.
   * Only an in_progress claim that is still ours goes: a key whose answer was committed with
   * its change (say the COMMIT's answer was lost) stays, and the retry replays it. When the
   * database cannot be reached the release is retried in the background for as long as the
   * claim would otherwise block retries.
   */
  async abandon(claim: Claim): Promise<void> {
    try {
      await this.keys.release(claim);
    } catch (error) {
      this.logger.error({ err: error, scope: claim.scope }, 'releasing idempotency claim failed');
      this.retryRelease(claim, Date.now() + IN_PROGRESS_TAKEOVER_MS);
    }
  }

  private retryRelease(claim: Claim, until: number): void {
    if (Date.now() >= until) return;
    const timer = setTimeout(() => {
      this.keys.release(claim).catch(() => this.retryRelease(claim, until));
    }, RELEASE_RETRY_MS);
    // A pending retry must never keep a stopping process alive.
    timer.unref();
  }

  /** Deletes expired keys in small batches; returns how many went. */
  async purgeExpired(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const deleted = await this.keys.purgeExpired(PURGE_BATCH_SIZE);
      total += deleted;
      if (deleted < PURGE_BATCH_SIZE) break;
    }
    return total;
  }

  /**
   * Fails closed: without the key store we cannot tell a retry from a first attempt. A
   * database fault is answered as such (DATABASE_UNAVAILABLE, DATABASE_TIMEOUT), like on any
   * other route; anything else as IDEMPOTENCY_STORE_UNAVAILABLE.
   */
  private async store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const fault = databaseErrorFor(error);
      if (fault) throw fault;
      this.logger.error({ err: error }, 'idempotency key store failed');
      throw new IdempotencyStoreUnavailableError();
    }
  }
}
