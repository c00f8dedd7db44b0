import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { keyIdOf } from '../../src/auth/api-key-verifier';
import { requestFingerprint } from '../../src/idempotency/fingerprint';
import { IdempotencyService } from '../../src/idempotency/idempotency.service';
import type { ApiResponse } from '../support/http';
import { STOREFRONT_KEY } from '../support/test-env';
import { probeState, startProbeApp, type ProbeApp } from '../support/probe-app';

const SECOND_STOREFRONT_KEY = 'test-storefront-key-0002';
const PROBLEM_JSON = 'application/problem+json; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const newKey = (): string => `probe-${randomUUID()}`;
const withKey = (key: string): Record<string, string> => ({ 'idempotency-key': key });

interface StoredRow {
  scope: string;
  key: string;
  fingerprint: string;
  status: string;
  response_status: number | null;
  response_body: unknown;
  ttl_seconds: number;
}

/**
 * The interceptor and the PostgreSQL store through real HTTP, over throwaway routes
 * (see support/probe-app.ts) whose side effects the tests can count exactly.
 */
describe('Idempotency-Key (probe routes)', () => {
  let probe: ProbeApp;
  let db: DataSource;

  beforeAll(async () => {
    probe = await startProbeApp({
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY},${SECOND_STOREFRONT_KEY}`,
    });
    db = probe.app.get(DataSource);
  });

  beforeEach(() => probeState.reset());

  afterAll(async () => {
    await probe?.close();
  });

  const increment = (
    name: string,
    body: Record<string, unknown>,
    key?: string,
    client = probe.api,
  ): Promise<ApiResponse> =>
    client.post(`/probe/counters/${name}/increment`, body, key ? withKey(key) : {});

  async function row(key: string): Promise<StoredRow | undefined> {
    const rows = await db.query<StoredRow[]>(
      `SELECT scope, key, fingerprint, status, response_status, response_body,
              extract(epoch FROM expires_at - now())::integer AS ttl_seconds
         FROM idempotency_keys WHERE key = $1`,
      [key],
    );
    expect(rows.length).toBeLessThanOrEqual(1);
    return rows[0];
  }

  it('replays the first status and body with Idempotent-Replayed, without running again', async () => {
    const key = newKey();
    const first = await increment('replay', { by: 2 }, key);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ name: 'replay', value: 2 });
    expect(first.headers['content-type']).toBe(JSON_TYPE);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    for (let i = 0; i < 3; i++) {
      const again = await increment('replay', { by: 2 }, key);
      expect(again.status).toBe(201);
      expect(again.body).toEqual({ name: 'replay', value: 2 });
      expect(again.headers['content-type']).toBe(JSON_TYPE);
      expect(again.headers['idempotent-replayed']).toBe('true');
    }
    expect(probeState.counters.get('replay')).toBe(2);
    expect(probeState.calls.get('increment')).toBe(1);
  });

  it('stores scope, fingerprint, response and a 24 h expiry in idempotency_keys', async () => {
    const key = newKey();
    await increment('stored', { by: 1 }, key);
    const stored = await row(key);
    expect(stored).toEqual({
      scope: keyIdOf(STOREFRONT_KEY),
      key,
      fingerprint: requestFingerprint('POST', '/probe/counters/stored/increment', { by: 1 }),
      status: 'completed',
      response_status: 201,
      response_body: { name: 'stored', value: 1 },
      ttl_seconds: expect.any(Number),
    });
    expect(stored?.ttl_seconds).toBeGreaterThan(24 * 3600 - 60);
    expect(stored?.ttl_seconds).toBeLessThanOrEqual(24 * 3600);
  });

  it('treats a reordered body as the same request', async () => {
    const key = newKey();
    const first = await increment('order', { by: 1, delayMs: 0 }, key);
    const again = await increment('order', { delayMs: 0, by: 1 }, key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(probeState.counters.get('order')).toBe(1);
  });

  it('answers the same key with another body or path with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = newKey();
    expect((await increment('reuse', { by: 1 }, key)).status).toBe(201);

    const otherBody = await increment('reuse', { by: 5 }, key);
    expect(otherBody.status).toBe(422);
    expect(otherBody.headers['content-type']).toBe(PROBLEM_JSON);
    expect(otherBody.headers['idempotent-replayed']).toBeUndefined();
    expect(otherBody.body).toEqual({
      type: 'urn:couponlock:problem:idempotency-key-reused',
      title: 'Unprocessable Content',
      status: 422,
      code: 'IDEMPOTENCY_KEY_REUSED',
      detail: 'This Idempotency-Key was already used with a different request; use a new key.',
      instance: '/probe/counters/reuse/increment',
    });

    const otherPath = await increment('reuse-elsewhere', { by: 1 }, key);
    expect(otherPath.status).toBe(422);
    expect(otherPath.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    expect(probeState.counters.get('reuse')).toBe(1);
    expect(probeState.counters.has('reuse-elsewhere')).toBe(false);
  });

  it('runs one of 10 concurrent requests with one key; the rest get 409 or the replay', async () => {
    const key = newKey();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => increment('race', { by: 1, delayMs: 300 }, key)),
    );
    const applied = responses.filter(
      (r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined,
    );
    const replayed = responses.filter(
      (r) => r.status === 201 && r.headers['idempotent-replayed'] === 'true',
    );
    const inProgress = responses.filter((r) => r.status === 409);
    expect(applied).toHaveLength(1);
    expect(replayed.length + inProgress.length).toBe(9);
    for (const r of [...applied, ...replayed]) expect(r.body).toEqual({ name: 'race', value: 1 });
    for (const r of inProgress) {
      expect(r.headers['content-type']).toBe(PROBLEM_JSON);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' });
    }
    // With a 300 ms handler, all ten arrive while the first still runs.
    expect(inProgress.length).toBeGreaterThanOrEqual(1);
    expect(probeState.counters.get('race')).toBe(1);
    expect(probeState.calls.get('increment')).toBe(1);

    const after = await increment('race', { by: 1, delayMs: 300 }, key);
    expect(after.status).toBe(201);
    expect(after.headers['idempotent-replayed']).toBe('true');
    expect(probeState.counters.get('race')).toBe(1);
  });

  it('scopes keys per API key: the same key from another caller is independent', async () => {
    const key = newKey();
    const other = probe.client(SECOND_STOREFRONT_KEY);
    const mine = await increment('scoped', { by: 1 }, key);
    const theirs = await increment('scoped', { by: 1 }, key, other);
    expect(mine.body).toEqual({ name: 'scoped', value: 1 });
    expect(theirs.status).toBe(201);
    expect(theirs.body).toEqual({ name: 'scoped', value: 2 });
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();

    const mineAgain = await increment('scoped', { by: 1 }, key);
    const theirsAgain = await increment('scoped', { by: 1 }, key, other);
    expect(mineAgain.body).toEqual({ name: 'scoped', value: 1 });
    expect(theirsAgain.body).toEqual({ name: 'scoped', value: 2 });
    expect(mineAgain.headers['idempotent-replayed']).toBe('true');
    expect(theirsAgain.headers['idempotent-replayed']).toBe('true');
    expect(probeState.counters.get('scoped')).toBe(2);
  });

  it('scopes keys per API key across routes: the same key on another route is 422', async () => {
    const key = newKey();
    expect((await increment('routes', { by: 1 }, key)).status).toBe(201);
    const patched = await probe.api.patch('/probe/counters/routes', { by: 1 }, withKey(key));
    expect(patched.status).toBe(422);
    expect(patched.headers['content-type']).toBe(PROBLEM_JSON);
    expect(patched.body).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(patched.headers['idempotent-replayed']).toBeUndefined();
    expect(probeState.calls.get('patch')).toBeUndefined();
    // The first route still replays its own answer under the key.
    const again = await increment('routes', { by: 1 }, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(probeState.calls.get('increment')).toBe(1);
  });

  it('replays a 4xx problem exactly, as problem+json', async () => {
    const key = newKey();
    const first = await probe.api.post('/probe/conflict', {}, withKey(key));
    const expected = {
      type: 'urn:couponlock:problem:sku-taken',
      title: 'Conflict',
      status: 409,
      code: 'SKU_TAKEN',
      detail: 'The probe is taken.',
      call: 1,
      instance: '/probe/conflict',
    };
    expect(first.status).toBe(409);
    expect(first.headers['content-type']).toBe(PROBLEM_JSON);
    expect(first.body).toEqual(expected);

    const again = await probe.api.post('/probe/conflict', {}, withKey(key));
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toBe(PROBLEM_JSON);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(expected);
    expect(probeState.calls.get('conflict')).toBe(1);
  });

  it('does not store a validation failure (400): the corrected retry runs under the key', async () => {
    const key = newKey();
    const first = await increment('invalid', { by: 0 }, key);
    expect(first.status).toBe(400);
    expect(first.body.code).toBe('VALIDATION_FAILED');
    expect(await row(key)).toBeUndefined();
    const again = await increment('invalid', { by: 0 }, key);
    expect(again.status).toBe(400);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body).toEqual(first.body);
    expect(probeState.calls.get('increment')).toBeUndefined();

    const corrected = await increment('invalid', { by: 2 }, key);
    expect(corrected.status).toBe(201);
    expect(corrected.body).toEqual({ name: 'invalid', value: 2 });
    const replayed = await increment('invalid', { by: 2 }, key);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(probeState.calls.get('increment')).toBe(1);
  });

  it('releases the key after a 5xx so the retry runs, then replays the success', async () => {
    const key = newKey();
    const failed = await probe.api.post('/probe/flaky', {}, withKey(key));
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('DATABASE_UNAVAILABLE');
    expect(await row(key)).toBeUndefined();

    const retried = await probe.api.post('/probe/flaky', {}, withKey(key));
    expect(retried.status).toBe(201);
    expect(retried.body).toEqual({ call: 2 });
    expect(retried.headers['idempotent-replayed']).toBeUndefined();

    const replayed = await probe.api.post('/probe/flaky', {}, withKey(key));
    expect(replayed.status).toBe(201);
    expect(replayed.body).toEqual({ call: 2 });
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(probeState.calls.get('flaky')).toBe(2);
  });

  it('releases the key after an unexpected error (500) as well', async () => {
    const key = newKey();
    const failed = await probe.api.post('/probe/crash', {}, withKey(key));
    expect(failed.status).toBe(500);
    expect(failed.body.code).toBe('INTERNAL_ERROR');
    const retried = await probe.api.post('/probe/crash', {}, withKey(key));
    expect(retried.status).toBe(201);
    expect(retried.body).toEqual({ call: 2 });
  });

  it('replays the route status from @HttpCode, and the query is part of the request', async () => {
    const key = newKey();
    const first = await probe.api.post('/probe/ok?tag=a', {}, withKey(key));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ok: true, tag: 'a', call: 1 });
    const again = await probe.api.post('/probe/ok?tag=a', {}, withKey(key));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ok: true, tag: 'a', call: 1 });
    expect(again.headers['idempotent-replayed']).toBe('true');
    const otherQuery = await probe.api.post('/probe/ok?tag=b', {}, withKey(key));
    expect(otherQuery.status).toBe(422);
    expect(otherQuery.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('replays an empty 204 as an empty 204', async () => {
    const key = newKey();
    const first = await probe.api.post('/probe/empty', {}, withKey(key));
    expect(first.status).toBe(204);
    expect(first.body).toBe('');
    const again = await probe.api.post('/probe/empty', {}, withKey(key));
    expect(again.status).toBe(204);
    expect(again.body).toBe('');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(probeState.calls.get('empty')).toBe(1);
  });

  it('rejects a malformed Idempotency-Key with 400 INVALID_IDEMPOTENCY_KEY, running nothing', async () => {
    for (const bad of ['has space', 'x'.repeat(256), 'clé']) {
      const response = await increment('bad-key', { by: 1 }, bad);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe(PROBLEM_JSON);
      expect(response.body).toMatchObject({
        status: 400,
        code: 'INVALID_IDEMPOTENCY_KEY',
        detail: 'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces).',
      });
    }
    expect(probeState.calls.get('increment')).toBeUndefined();
    const longest = await increment('bad-key', { by: 1 }, 'x'.repeat(255));
    expect(longest.status).toBe(201);
  });

  it('runs every request without a key, and ignores the header on GET', async () => {
    expect((await increment('nokey', { by: 1 })).body).toEqual({ name: 'nokey', value: 1 });
    expect((await increment('nokey', { by: 1 })).body).toEqual({ name: 'nokey', value: 2 });
    const get = await probe.api.get('/probe/whoami', withKey('not valid'));
    expect(get.status).toBe(200);
  });

  describe('abandoned and expired keys', () => {
    const scope = keyIdOf(STOREFRONT_KEY);

    async function plantInProgress(key: string, name: string, ageSeconds: number): Promise<void> {
      await db.query(
        `INSERT INTO idempotency_keys (scope, key, fingerprint, status, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, 'in_progress', now() - $4 * interval '1 second',
                 now() - $4 * interval '1 second', now() + interval '1 hour')`,
        [
          scope,
          key,
          requestFingerprint('POST', `/probe/counters/${name}/increment`, { by: 1 }),
          ageSeconds,
        ],
      );
    }

    it('answers 409 while an in_progress claim is younger than 60 s', async () => {
      const key = newKey();
      await plantInProgress(key, 'young', 30);
      const response = await increment('young', { by: 1 }, key);
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
      expect(probeState.counters.has('young')).toBe(false);
    });

    it('takes over an in_progress claim older than 60 s (a crashed process) and completes it', async () => {
      const key = newKey();
      await plantInProgress(key, 'abandoned', 61);
      const response = await increment('abandoned', { by: 1 }, key);
      expect(response.status).toBe(201);
      expect(response.headers['idempotent-replayed']).toBeUndefined();
      expect(response.body).toEqual({ name: 'abandoned', value: 1 });
      expect((await row(key))?.status).toBe('completed');
      const replay = await increment('abandoned', { by: 1 }, key);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(probeState.counters.get('abandoned')).toBe(1);
    });

    it('does not take over an abandoned claim for a different body: 422', async () => {
      const key = newKey();
      await plantInProgress(key, 'abandoned-other', 61);
      const response = await increment('abandoned-other', { by: 2 }, key);
      expect(response.status).toBe(422);
      expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('treats an expired key as new, whatever the earlier request was', async () => {
      const key = newKey();
      expect((await increment('expired', { by: 1 }, key)).status).toBe(201);
      await db.query(
        `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`,
        [key],
      );
      const reused = await increment('expired', { by: 3 }, key);
      expect(reused.status).toBe(201);
      expect(reused.headers['idempotent-replayed']).toBeUndefined();
      expect(reused.body).toEqual({ name: 'expired', value: 4 });
      expect((await row(key))?.response_body).toEqual({ name: 'expired', value: 4 });
    });

    it('purges expired keys and keeps live ones', async () => {
      const live = newKey();
      const expired = [newKey(), newKey(), newKey()];
      await increment('purge', { by: 1 }, live);
      for (const key of expired) {
        await db.query(
          `INSERT INTO idempotency_keys (scope, key, fingerprint, status, response_status, response_body, expires_at)
           VALUES ($1, $2, $3, 'completed', 201, '{}'::jsonb, now() - interval '1 minute')`,
          [scope, key, 'f'.repeat(64)],
        );
      }
      const purged = await probe.app.get(IdempotencyService).purgeExpired();
      expect(purged).toBeGreaterThanOrEqual(3);
      for (const key of expired) expect(await row(key)).toBeUndefined();
      expect((await row(live))?.status).toBe('completed');
    });
  });
});
