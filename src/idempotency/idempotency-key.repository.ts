import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { applied, type WriteOutcome } from '../database/write-outcome';
import type { IdempotencyStatus } from './idempotency-key.entity';

/** A stored response, exactly as first sent. */
export interface StoredResponse {
  status: number;
  /** Parsed JSON body; null when the handler sent none. */
  body: unknown;
}

/** The state of someone else's (or an earlier) use of a key. */
export interface ExistingKey {
  fingerprint: string;
  status: IdempotencyStatus;
  response: StoredResponse | undefined;
}

/**
 * Proof of a claim. `token` is the claim's updated_at (as PostgreSQL text, to keep every
 * microsecond): completing or abandoning a claim only touches the row if it is still ours,
 * not one another process took over after we went silent.
 */
export interface Claim {
  scope: string;
  key: string;
  token: string;
}

/**
 * What stopped a claim: the key's current use, for the caller to replay or refuse; or null when
 * the conflicting row is not in the statement's snapshot (a concurrent claim committed it after
 * the snapshot, which ON CONFLICT does see): the next statement sees it, ask again.
 */
export interface KeyInUse {
  existing: ExistingKey | null;
}

/**
 * `applied`: the key is ours (new, expired, or our own request's claim abandoned for longer
 * than the takeover time); `condition_failed`: the key is in use (see KeyInUse).
 */
export type ClaimOutcome = WriteOutcome<Claim, KeyInUse, 'applied' | 'condition_failed'>;

interface ClaimRow {
  claimed: boolean;
  token: string | null;
  fingerprint: string | null;
  status: IdempotencyStatus | null;
  response_status: number | null;
  response_body: unknown;
}

/**
 * One statement claims a key: a new key is inserted; a row that has expired, or an in_progress
 * row with the same fingerprint abandoned for longer than `takeoverMs`, is taken over by the
 * conditional DO UPDATE (its row lock makes concurrent takeovers serialize, and the loser sees
 * the winner's fresh updated_at). Otherwise the current row comes back in the same round trip
 * for the caller to replay or refuse.
 *
 * The outer SELECT reads the statement's snapshot, so a row committed by a concurrent claim
 * after the snapshot (which ON CONFLICT does see) may be invisible to it: zero rows, ask again.
 */
const CLAIM_SQL = `
WITH claim AS (
  INSERT INTO idempotency_keys AS k (scope, "key", fingerprint, status, expires_at)
  VALUES ($1, $2, $3, 'in_progress', now() + $4 * interval '1 millisecond')
  ON CONFLICT (scope, "key") DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint,
    status = 'in_progress',
    response_status = NULL,
    response_body = NULL,
    created_at = CASE WHEN k.expires_at <= now() THEN now() ELSE k.created_at END,
    updated_at = now(),
    expires_at = EXCLUDED.expires_at
  WHERE k.expires_at <= now()
     OR (k.status = 'in_progress'
         AND k.fingerprint = EXCLUDED.fingerprint
         AND k.updated_at <= now() - $5 * interval '1 millisecond')
  RETURNING k.updated_at::text AS token
)
SELECT true AS claimed, claim.token, NULL::char(64) AS fingerprint, NULL::text AS status,
       NULL::integer AS response_status, NULL::jsonb AS response_body
  FROM claim
UNION ALL
SELECT false, NULL, k.fingerprint, k.status, k.response_status, k.response_body
  FROM idempotency_keys k
 WHERE k.scope = $1 AND k."key" = $2 AND k.expires_at > now()
   AND NOT EXISTS (SELECT 1 FROM claim)`;

const COMPLETE_SQL = `
WITH done AS (
  UPDATE idempotency_keys
     SET status = 'completed', response_status = $4, response_body = $5::jsonb,
         updated_at = now(), expires_at = now() + $6 * interval '1 millisecond'
   WHERE scope = $1 AND "key" = $2 AND status = 'in_progress' AND updated_at = $3::timestamptz
  RETURNING 1
)
SELECT count(*)::integer AS affected FROM done`;

const RELEASE_SQL = `
WITH gone AS (
  DELETE FROM idempotency_keys
   WHERE scope = $1 AND "key" = $2 AND status = 'in_progress' AND updated_at = $3::timestamptz
  RETURNING 1
)
SELECT count(*)::integer AS affected FROM gone`;

/** SKIP LOCKED: replicas purging at once, or a claim taking over a row, never wait on each other. */
const PURGE_SQL = `
WITH gone AS (
  DELETE FROM idempotency_keys
   WHERE (scope, "key") IN (
     SELECT scope, "key" FROM idempotency_keys
      WHERE expires_at <= now()
      ORDER BY expires_at
      LIMIT $1
      FOR UPDATE SKIP LOCKED)
  RETURNING 1
)
SELECT count(*)::integer AS affected FROM gone`;

interface AffectedRow {
  affected: number;
}

/** All SQL for idempotency keys. Every method is a single round trip. */
@Injectable()
export class IdempotencyKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async claim(
    scope: string,
    key: string,
    fingerprint: string,
    ttlMs: number,
    takeoverMs: number,
  ): Promise<ClaimOutcome> {
    const rows = await this.dataSource.query<ClaimRow[]>(CLAIM_SQL, [
      scope,
      key,
      fingerprint,
      ttlMs,
      takeoverMs,
    ]);
    const row = rows[0];
    if (!row) return { kind: 'condition_failed', existing: null };
    if (row.claimed) return applied({ scope, key, token: row.token ?? '' });
    return {
      kind: 'condition_failed',
      existing: {
        fingerprint: row.fingerprint ?? '',
        status: row.status ?? 'in_progress',
        response:
          row.response_status === null
            ? undefined
            : { status: row.response_status, body: row.response_body },
      },
    };
  }

  /** Stores the response; false if the claim was taken over meanwhile (nothing is written). */
  complete(claim: Claim, response: StoredResponse, ttlMs: number): Promise<boolean> {
    return this.completeWith(this.dataSource.manager, claim, response, ttlMs);
  }

  /**
   * Like complete(), in the caller's transaction: the answer then commits with the change it
   * answers, or not at all. The UPDATE takes the key's row lock, so a concurrent takeover
   * waits for this transaction and then finds the key completed; a takeover that came first
   * makes this return false, and the caller must roll its change back.
   */
  completeWith(
    manager: EntityManager,
    claim: Claim,
    response: StoredResponse,
    ttlMs: number,
  ): Promise<boolean> {
    return this.affected(manager, COMPLETE_SQL, [
      claim.scope,
      claim.key,
      claim.token,
      response.status,
      // Serialized here: node-postgres would turn a top-level array into a PostgreSQL array.
      response.body === undefined ? null : JSON.stringify(response.body),
      ttlMs,
    ]);
  }

  private async affected(
    manager: EntityManager,
    sql: string,
    parameters: unknown[],
  ): Promise<boolean> {
    const rows = await manager.query<AffectedRow[]>(sql, parameters);
    return (rows[0]?.affected ?? 0) > 0;
  }

  /** Deletes our in_progress claim so the client may retry; false if it is no longer ours. */
  async release(claim: Claim): Promise<boolean> {
    const rows = await this.dataSource.query<AffectedRow[]>(RELEASE_SQL, [
      claim.scope,
      claim.key,
      claim.token,
    ]);
    return (rows[0]?.affected ?? 0) > 0;
  }

  /** Deletes up to `limit` expired rows; returns how many went. */
  async purgeExpired(limit: number): Promise<number> {
    const rows = await this.dataSource.query<AffectedRow[]>(PURGE_SQL, [limit]);
    return rows[0]?.affected ?? 0;
  }
}
