import { Injectable, Logger } from '@nestjs/common';
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

/** A concurrent claim can hide a row from one statement's snapshot; the next one sees it. */
const CLAIM_ATTEMPTS = 3;

/**
 * Idempotency-Key bookkeeping, independent of HTTP.
 *
 * Design trade-off: the claim is committed on its own, before and apart from the business
 * transaction. We never hold a database transaction open while the handler waits for a Redis
 * lock, so pool connections and row locks stay short. The price is a window: if the process
 * dies after the business transaction commits but before the response is stored, an
 * in_progress row is left behind. After IN_PROGRESS_TAKEOVER_MS a retry with the same key and
 * body takes it over and runs the handler again; the domain's own uniqueness rules (one active
 * redemption per coupon and order, fenced conditional writes) keep that retry from applying
 * twice. Until then, retries get 409 IDEMPOTENCY_IN_PROGRESS.
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
      const result = await this.store(() =>
        this.keys.claim(scope, key, fingerprint, IDEMPOTENCY_TTL_MS, IN_PROGRESS_TAKEOVER_MS),
      );
      if (result.outcome === 'claimed') return { kind: 'claimed', claim: result.claim };
      if (result.outcome === 'retry') continue;
      const { existing } = result;
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

  /** Gives the key back (after a 5xx or unexpected error) so the client can retry it. */
  async abandon(claim: Claim): Promise<void> {
    try {
      await this.keys.release(claim);
    } catch (error) {
      // The claim then blocks retries for IN_PROGRESS_TAKEOVER_MS, after which it is taken over.
      this.logger.error({ err: error, scope: claim.scope }, 'releasing idempotency claim failed');
    }
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

  /** Fails closed: without the key store we cannot tell a retry from a first attempt. */
  private async store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.logger.error({ err: error }, 'idempotency key store failed');
      throw new IdempotencyStoreUnavailableError();
    }
  }
}
