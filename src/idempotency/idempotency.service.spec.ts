import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainError } from '../common/errors/domain-error';
import {
  IDEMPOTENCY_TTL_MS,
  IN_PROGRESS_TAKEOVER_MS,
  PURGE_BATCH_SIZE,
} from './idempotency.constants';
import { IdempotencyService } from './idempotency.service';
import type { Claim, ClaimOutcome, IdempotencyKeyRepository } from './idempotency-key.repository';

const FP = 'a'.repeat(64);
const OTHER_FP = 'b'.repeat(64);
const CLAIM: Claim = { scope: 's', key: 'k', token: '2025-01-01 00:00:00.123456+00' };

function fakeRepository() {
  return {
    claim: jest.fn<Promise<ClaimOutcome>, [string, string, string, number, number]>(),
    complete: jest.fn<Promise<boolean>, unknown[]>().mockResolvedValue(true),
    completeWith: jest.fn<Promise<boolean>, unknown[]>().mockResolvedValue(true),
    release: jest.fn<Promise<boolean>, unknown[]>().mockResolvedValue(true),
    purgeExpired: jest.fn<Promise<number>, [number]>(),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('IdempotencyService', () => {
  let repository: ReturnType<typeof fakeRepository>;
  let service: IdempotencyService;

  let logError: jest.SpyInstance;
  let logWarn: jest.SpyInstance;

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    repository = fakeRepository();
    service = new IdempotencyService(repository as unknown as IdempotencyKeyRepository);
  });

  afterEach(() => jest.restoreAllMocks());

  it('claims a fresh key with the configured TTL and takeover age', async () => {
    repository.claim.mockResolvedValueOnce({ kind: 'applied', row: CLAIM });
    await expect(service.begin('s', 'k', FP)).resolves.toEqual({ kind: 'claimed', claim: CLAIM });
    expect(repository.claim).toHaveBeenCalledTimes(1);
    expect(repository.claim).toHaveBeenCalledWith(
      's',
      'k',
      FP,
      IDEMPOTENCY_TTL_MS,
      IN_PROGRESS_TAKEOVER_MS,
    );
    expect(IDEMPOTENCY_TTL_MS).toBe(24 * 60 * 60 * 1000);
    expect(IN_PROGRESS_TAKEOVER_MS).toBe(60_000);
  });

  it('replays a completed key with the same fingerprint', async () => {
    const response = { status: 201, body: { sku: 'A' } };
    repository.claim.mockResolvedValueOnce({
      kind: 'condition_failed',
      existing: { fingerprint: FP, status: 'completed', response },
    });
    await expect(service.begin('s', 'k', FP)).resolves.toEqual({ kind: 'replay', response });
  });

  it('refuses a different request under the same key with IDEMPOTENCY_KEY_REUSED', async () => {
    for (const status of ['completed', 'in_progress'] as const) {
      repository.claim.mockResolvedValueOnce({
        kind: 'condition_failed',
        existing: {
          fingerprint: OTHER_FP,
          status,
          response: status === 'completed' ? { status: 200, body: {} } : undefined,
        },
      });
      expect(await codeOf(service.begin('s', 'k', FP))).toBe('IDEMPOTENCY_KEY_REUSED');
    }
  });

  it('answers IDEMPOTENCY_IN_PROGRESS while the first request runs', async () => {
    repository.claim.mockResolvedValueOnce({
      kind: 'condition_failed',
      existing: { fingerprint: FP, status: 'in_progress', response: undefined },
    });
    expect(await codeOf(service.begin('s', 'k', FP))).toBe('IDEMPOTENCY_IN_PROGRESS');
  });

  it('asks again when a concurrent claim hid the row, up to three times', async () => {
    repository.claim
      .mockResolvedValueOnce({ kind: 'condition_failed', existing: null })
      .mockResolvedValueOnce({ kind: 'applied', row: CLAIM });
    await expect(service.begin('s', 'k', FP)).resolves.toEqual({ kind: 'claimed', claim: CLAIM });
    expect(repository.claim).toHaveBeenCalledTimes(2);

    repository.claim.mockReset().mockResolvedValue({ kind: 'condition_failed', existing: null });
    expect(await codeOf(service.begin('s', 'k', FP))).toBe('IDEMPOTENCY_IN_PROGRESS');
    expect(repository.claim).toHaveBeenCalledTimes(3);
  });

  it('fails closed with IDEMPOTENCY_STORE_UNAVAILABLE when PostgreSQL fails', async () => {
    repository.claim.mockRejectedValueOnce(new Error('connection refused'));
    expect(await codeOf(service.begin('s', 'k', FP))).toBe('IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(logError).toHaveBeenCalledTimes(1);
  });

  it('stores responses with the TTL and never throws from complete or abandon', async () => {
    await service.complete(CLAIM, { status: 201, body: { a: 1 } });
    expect(repository.complete).toHaveBeenCalledWith(
      CLAIM,
      { status: 201, body: { a: 1 } },
      IDEMPOTENCY_TTL_MS,
    );
    repository.complete.mockRejectedValueOnce(new Error('down'));
    await expect(service.complete(CLAIM, { status: 201, body: {} })).resolves.toBeUndefined();
    repository.complete.mockResolvedValueOnce(false);
    await expect(service.complete(CLAIM, { status: 201, body: {} })).resolves.toBeUndefined();

    await service.abandon(CLAIM);
    expect(repository.release).toHaveBeenCalledWith(CLAIM);
    repository.release.mockRejectedValueOnce(new Error('down'));
    await expect(service.abandon(CLAIM)).resolves.toBeUndefined();
    expect(logError.mock.calls.map((call: unknown[]) => call[1])).toEqual([
      'storing idempotent response failed',
      'releasing idempotency claim failed',
    ]);
    expect(logWarn.mock.calls.map((call: unknown[]) => call[1])).toEqual([
      'idempotency claim was taken over before its response was stored',
    ]);
  });

  it('answers a database fault during the claim as that fault (DATABASE_UNAVAILABLE)', async () => {
    repository.claim.mockRejectedValueOnce(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    );
    expect(await codeOf(service.begin('s', 'k', FP))).toBe('DATABASE_UNAVAILABLE');
    expect(logError).not.toHaveBeenCalled();
  });

  it('stores an answer inside the caller’s transaction with the TTL, and says if the claim is lost', async () => {
    const manager = { tag: 'manager' } as unknown as EntityManager;
    const response = { status: 201, body: { id: 'o-1' } };
    await expect(service.completeWith(manager, CLAIM, response)).resolves.toBe(true);
    expect(repository.completeWith).toHaveBeenCalledWith(
      manager,
      CLAIM,
      response,
      IDEMPOTENCY_TTL_MS,
    );
    repository.completeWith.mockResolvedValueOnce(false);
    await expect(service.completeWith(manager, CLAIM, response)).resolves.toBe(false);
  });

  it('keeps offering a claim back while the database is away, about once a second', async () => {
    jest.useFakeTimers();
    try {
      repository.release
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('still down'))
        .mockResolvedValueOnce(true);
      await service.abandon(CLAIM);
      expect(repository.release).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1000);
      expect(repository.release).toHaveBeenCalledTimes(2);
      await jest.advanceTimersByTimeAsync(1000);
      expect(repository.release).toHaveBeenCalledTimes(3);
      await jest.advanceTimersByTimeAsync(5000);
      expect(repository.release).toHaveBeenCalledTimes(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives up offering the claim back once a takeover could have it anyway', async () => {
    jest.useFakeTimers();
    try {
      repository.release.mockRejectedValue(new Error('down for good'));
      await service.abandon(CLAIM);
      await jest.advanceTimersByTimeAsync(IN_PROGRESS_TAKEOVER_MS + 5000);
      const attempts = repository.release.mock.calls.length;
      expect(attempts).toBeGreaterThanOrEqual(IN_PROGRESS_TAKEOVER_MS / 1000 - 1);
      expect(attempts).toBeLessThanOrEqual(IN_PROGRESS_TAKEOVER_MS / 1000 + 1);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(repository.release.mock.calls.length).toBe(attempts);
    } finally {
      jest.useRealTimers();
    }
  });

  it('purges in batches until a batch comes back short', async () => {
    repository.purgeExpired
      .mockResolvedValueOnce(PURGE_BATCH_SIZE)
      .mockResolvedValueOnce(PURGE_BATCH_SIZE)
      .mockResolvedValueOnce(7);
    await expect(service.purgeExpired()).resolves.toBe(2 * PURGE_BATCH_SIZE + 7);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(3);
    expect(repository.purgeExpired).toHaveBeenCalledWith(PURGE_BATCH_SIZE);
  });
});
