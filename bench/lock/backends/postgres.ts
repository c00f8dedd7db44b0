/**
 * bench:lock module for LOCK_BACKEND=postgres: our lease table against the plain PostgreSQL
 * advisory lock (`pg_advisory_lock` / `pg_advisory_unlock`, session level, on a connection held
 * for the cycle), and two `SELECT 1` round trips as the floor of any two-statement lock.
 *
 * Env: LOCK_BENCH_DATABASE_URL, else DATABASE_URL, else the local development database.
 *
 * Run alone, it prints this backend's uncontended cycle next to its peers (median of rounds that
 * rotate through the contenders, so the machine's load hits all alike) and the round trips per
 * acquisition; `npm run bench:lock` puts it in the table with the other backends:
 *
 *   node -r ts-node/register/transpile-only bench/lock/backends/postgres.ts
 */
import { Client, Pool } from 'pg';
import { LockService, type LockServiceOptions } from '@couponlock/lock';
import type { BenchBackend, PeerContender } from '../bench-backend';

const DATABASE_URL =
  process.env.LOCK_BENCH_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://couponlock:couponlock@127.0.0.1:5432/couponlock';

/** application_name of the lock's pool in the bench: its statements are the ones counted. */
const APPLICATION_NAME = 'couponlock-bench-lock';

/**
 * Statements sent by this process's lock pool. Counted at the client: the shared server does not
 * load pg_stat_statements, and pg_stat_database flushes other sessions' counts up to seconds
 * late. Each statement is one round trip (node-postgres sends one query per round trip).
 */
let statements = 0;
let counting = false;

function countStatements(): void {
  if (counting) return;
  counting = true;
  const proto = Client.prototype as unknown as {
    query: (this: Client, ...args: unknown[]) => unknown;
  };
  const original = proto.query;
  proto.query = function (this: Client, ...args: unknown[]): unknown {
    // connectionParameters is not in @types/pg; it carries the application_name we set.
    const params = (this as unknown as { connectionParameters?: { application_name?: string } })
      .connectionParameters;
    if (params?.application_name === APPLICATION_NAME) statements++;
    return original.apply(this, args);
  };
}

/** A 63-bit advisory lock key for `key` (stable across processes). */
const ADVISORY_KEY = 'hashtextextended($1, 0)';

const advisoryPeer: PeerContender = {
  name: 'pg_advisory_lock',
  kind: 'peer',
  async open(keyPrefix) {
    // A session-level advisory lock is reentrant within its session, so every cycle takes a
    // connection of its own for the cycle (as an app would check one out of a pool).
    const pool = new Pool({
      connectionString: DATABASE_URL,
      max: 8,
      application_name: 'bench-advisory',
    });
    const warm = await pool.connect();
    warm.release();
    return {
      async cycle(key) {
        const client = await pool.connect();
        try {
          await client.query(`SELECT pg_advisory_lock(${ADVISORY_KEY})`, [keyPrefix + key]);
          await client.query(`SELECT pg_advisory_unlock(${ADVISORY_KEY})`, [keyPrefix + key]);
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
  },
};

const selectFloor: PeerContender = {
  name: '2x SELECT 1',
  kind: 'floor',
  async open() {
    const client = new Client({ connectionString: DATABASE_URL, application_name: 'bench-floor' });
    await client.connect();
    return {
      async cycle() {
        await client.query('SELECT 1');
        await client.query('SELECT 1');
      },
      close: () => client.end(),
    };
  },
};

const postgres: BenchBackend = {
  name: 'postgres',
  setup() {
    countStatements();
    return Promise.resolve();
  },
  options: (keyPrefix): LockServiceOptions => ({
    backend: 'postgres',
    postgres: { connectionString: DATABASE_URL, poolSize: 4, applicationName: APPLICATION_NAME },
    keyPrefix,
  }),
  peers: [advisoryPeer, selectFloor],
  roundTripsPerProcess: true,
  roundTrips() {
    countStatements();
    return Promise.resolve(statements);
  },
};

export default postgres;

async function main(): Promise<void> {
  const rounds = Number(process.env.ROUNDS ?? 15);
  const iterations = Number(process.env.ITERATIONS ?? 100);
  await postgres.setup?.();
  const prefix = `bench:pg:${process.pid}:`;
  const service = new LockService({
    ...postgres.options(prefix),
    logger: { log: () => undefined, warn: () => undefined },
  });
  const ours = {
    name: 'couponlock postgres',
    cycle: async (key: string) => (await service.acquire(key)).release(),
    close: () => service.close(),
  };
  const peers = await Promise.all(
    postgres.peers.map(async (p) => ({ name: `${p.name} (${p.kind})`, ...(await p.open(prefix)) })),
  );
  const contenders = [ours, ...peers];
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await c.cycle('warm');
  const before = await postgres.roundTrips?.();
  for (const c of contenders.slice(0, 1)) for (let i = 0; i < iterations; i++) await c.cycle('rt');
  const perAcquisition = ((await postgres.roundTrips?.()) ?? NaN) - (before ?? NaN);
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 ? [...contenders].reverse() : contenders) {
      const start = performance.now();
      for (let i = 0; i < iterations; i++) await c.cycle('u');
      samples.get(c.name)?.push(((performance.now() - start) * 1000) / iterations);
    }
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const base = median(samples.get(ours.name) ?? []);
  console.log(`uncontended acquire+release, median of ${rounds} rounds x ${iterations}:`);
  for (const c of contenders) {
    const us = median(samples.get(c.name) ?? []);
    console.log(
      `  ${c.name.padEnd(32)} ${us.toFixed(0).padStart(7)} µs   x${(us / base).toFixed(2)}`,
    );
  }
  console.log(
    `round trips per acquire+release (ours): ${(perAcquisition / iterations).toFixed(2)}`,
  );
  for (const c of contenders) await c.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
