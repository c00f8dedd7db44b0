import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  LockBackendUnavailableError,
  LockLostError,
  LockService,
  type LockServiceOptions,
} from '../../src';
import { TEST_POSTGRES_URL } from '../conformance/backends';
import { RecordingLogger } from '../support/lock-test-kit';
import { freePorts, sleep, waitFor } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * What the conformance suite does not cover for the postgres backend: the lease table it creates
 * itself, wake-ups by NOTIFY rather than by retrying, a hung server, and the server ending the
 * lock's sessions.
 */
describe('postgres backend', () => {
  let proxy: TcpProxy;
  let admin: Client;
  const services: LockService[] = [];
  const tables: string[] = [];

  const proxiedUrl = (): string => {
    const url = new URL(TEST_POSTGRES_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return url.toString();
  };

  const service = (
    postgres: NonNullable<LockServiceOptions['postgres']> = {},
    extra: Partial<LockServiceOptions> = {},
  ): LockService => {
    const s = new LockService({
      backend: 'postgres',
      postgres: { connectionString: proxiedUrl(), poolSize: 2, ...postgres },
      keyPrefix: `pg:${randomUUID()}:`,
      logger: new RecordingLogger(),
      ...extra,
    });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    const target = new URL(TEST_POSTGRES_URL);
    const [port] = await freePorts(1);
    proxy = new TcpProxy(port, target.hostname, Number(target.port || 5432));
    await proxy.start();
    admin = new Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
  });

  afterEach(async () => {
    proxy.blackHole = false;
    await proxy.start();
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    for (const table of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${table}"`);
      for (const fn of ['acquire', 'extend', 'release']) {
        await admin.query(`DROP FUNCTION IF EXISTS "${table}_${fn}_v1"`);
      }
    }
    await admin.end();
    await proxy.stop();
  });

  it('creates its lease table and functions on first use, once, however many processes start together', async () => {
    const table = `lock_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    tables.push(table);
    const keyPrefix = 'ddl:';
    const racers = Array.from({ length: 4 }, () => service({ table }, { keyPrefix }));
    const fences = await Promise.all(
      racers.map(async (s) => {
        const lock = await s.acquire('k', { waitMs: 10_000 });
        const fence = lock.fence;
        await lock.release();
        return fence;
      }),
    );
    expect([...fences].sort()).toEqual(['1', '2', '3', '4']);
    const { rows } = await admin.query<{ key: string; token: string | null; fence: string }>(
      `SELECT key, token, fence::text FROM "${table}"`,
    );
    expect(rows).toEqual([{ key: 'ddl:k', token: null, fence: '4' }]);
  });

  it('createTable: false refuses to run without the table, naming it', async () => {
    const table = `lock_missing_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const s = service({ table, createTable: false });
    const err = await s.acquire('k', { waitMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockBackendUnavailableError);
    expect((err as Error).message).toContain(`"public"."${table}"`);
    const { rows } = await admin.query('SELECT to_regclass($1) AS t', [`public.${table}`]);
    expect(rows[0]).toEqual({ t: null });
  });

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => service({ table: 'locks; DROP TABLE x' })).toThrow(TypeError);
    expect(() => service({ schema: 'Public' })).toThrow(TypeError);
  });

  it.each([
    ['a short key', 'w:2'],
    ['a key too long for a NOTIFY payload', `w:${'x'.repeat(3000)}`],
  ])(
    'a waiter in another process is woken by NOTIFY, not by its retry timer: %s',
    async (_, key) => {
      // Fallback retries every 10 s: only a wake-up can make the hand-over quick.
      const slowRetry = { retryDelayMs: { min: 10_000, max: 10_000 } };
      const keyPrefix = `wake:${randomUUID()}:`;
      const [a, b] = [
        service({}, { keyPrefix, ...slowRetry }),
        service({}, { keyPrefix, ...slowRetry }),
      ];
      const held = await a.acquire(['w:1', key]);
      let gotAt = 0;
      const waiter = b.acquire(key, { waitMs: 5000 }).then((lock) => {
        gotAt = performance.now();
        return lock;
      });
      await sleep(200); // the waiter's attempt failed and marked the key as waited for
      const releasedAt = performance.now();
      await held.release();
      const lock = await waiter;
      expect(gotAt - releasedAt).toBeLessThan(500);
      expect(BigInt(lock.fence)).toBeGreaterThan(BigInt(held.fenceFor(key)));
      await lock.release();
    },
  );

  it('a hung server (traffic dropped, sockets open) fails operations within about a second, then recovers', async () => {
    const s = service({}, { commandTimeoutMs: 500 });
    await (await s.acquire('hang:warm')).release();
    const held = await s.acquire('hang:1', { ttlMs: 3000 });
    proxy.blackHole = true;
    const started = performance.now();
    const err = await s.acquire('hang:2', { waitMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockBackendUnavailableError);
    expect(performance.now() - started).toBeLessThan(1500);
    expect((await s.health()).up).toBe(false);
    // Nobody can vouch for the lease any more: its holder hears it.
    await waitFor('the holder to hear', () => Promise.resolve(held.signal.aborted), 3000, 20);
    expect(held.signal.reason).toBeInstanceOf(LockLostError);
    proxy.blackHole = false;
    await waitFor(
      'the lock to recover',
      async () => {
        await (await s.acquire('hang:3', { waitMs: 0 })).release();
        return true;
      },
      15_000,
      100,
    );
    await held.release();
    expect(s.state()).toMatchObject({ breaker: 'closed', activeLocks: 0 });
  });

  it("the server ending the lock's sessions (pg_terminate_backend) fails waiters at once, then the lock recovers by itself", async () => {
    const applicationName = `lock-test-${randomUUID().slice(0, 8)}`;
    const keyPrefix = `term:${randomUUID()}:`;
    const [a, b] = [
      service({ applicationName }, { keyPrefix }),
      service({ applicationName }, { keyPrefix }),
    ];
    const held = await a.acquire('t:1');
    const waiters = Array.from({ length: 5 }, () =>
      b.acquire('t:1', { waitMs: 30_000 }).catch((e: unknown) => e),
    );
    await waitFor('the waiters to queue', () => Promise.resolve(b.state().localSlots === 1));
    await sleep(100);
    const killedAt = performance.now();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`,
      [`${applicationName}%`],
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(2); // at least both LISTEN connections
    const results = await Promise.all(waiters);
    expect(performance.now() - killedAt).toBeLessThan(1000);
    expect(results.filter((r) => r instanceof LockBackendUnavailableError)).toHaveLength(5);
    await waitFor(
      'both services to recover',
      async () => {
        for (const s of [a, b]) if (!(await s.health()).up) return false;
        return a.state().breaker === 'closed' && b.state().breaker === 'closed';
      },
      15_000,
      100,
    );
    // The lease lives in the table, not in a session: it is still held until released.
    expect(await b.tryAcquire('t:1')).toBeNull();
    await held.release();
    const next = await b.tryAcquire('t:1');
    expect(next).not.toBeNull();
    await next?.release();
  });
});
