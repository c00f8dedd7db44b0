/**
 * Lock benchmark: one table, one run, a row per backend and a row per peer library measured
 * beside it on the same server.
 *
 *   npm run bench:lock                      (every backend in BACKENDS)
 *   BENCH_BACKENDS=redis,file npm run bench:lock
 *
 * Env: BENCH_BACKENDS (comma-separated names; default all), ITERATIONS per round (150), ROUNDS
 * (16), HOT_SECONDS (4), HOLD_MS (5), HOT_WAITERS (64, split over the backend's processes),
 * HAND_OFF (`off`, or `<maxCount>,<maxMs>` for couponlock's hand-off bound),
 * STRICT=1 to exit 1 when a target is missed.
 *
 * Per backend:
 * 1. Uncontended acquire + release, sequential, in this process: couponlock against each peer
 *    (and floor) of the backend. Short rounds rotate through the contenders and the median
 *    round is reported, so changes in the machine's load hit all of them alike.
 * 2. Hot key: HOT_WAITERS loops over 2 worker processes (1 for `memory`) take one key and hold
 *    it HOLD_MS, for HOT_SECONDS. Throughput is compared with the serial limit 1/HOLD_MS and
 *    with the backend's own serial limit 1/(HOLD_MS + its uncontended cycle); the wait is from
 *    calling acquire to holding the lock; round trips are the server's own command counter over
 *    the window divided by the acquisitions. Fairness: each process's share of the
 *    acquisitions, and the longest a process went without the key (the worst wait of a remote
 *    waiter). Peers marked `hot` run it too.
 * 3. The targets of issue 10, each printed as met or MISSED with its measured ratio.
 *
 * Adding a backend: write bench/lock/backends/<name>.ts (see bench-backend.ts) and add one line
 * to BACKENDS.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { LockService, type LockServiceOptions } from '@couponlock/lock';
import { PrometheusLockMetrics } from '@couponlock/lock/prometheus';
import type { BenchBackend, PeerContender, PeerSession } from './bench-backend';

/* eslint-disable @typescript-eslint/no-require-imports --
 * Loaded on first use: a run filtered by BENCH_BACKENDS never loads the other backends' clients.
 */
const BACKENDS: Record<string, () => BenchBackend> = {
  redis: () => (require('./backends/redis') as { default: BenchBackend }).default,
  postgres: () => (require('./backends/postgres') as { default: BenchBackend }).default,
  file: () => (require('./backends/file') as { default: BenchBackend }).default,
  zookeeper: () => (require('./backends/zookeeper') as { default: BenchBackend }).default,
  memory: () => (require('./backends/memory') as { default: BenchBackend }).default,
};
/* eslint-enable @typescript-eslint/no-require-imports */

const ITERATIONS = Number(process.env.ITERATIONS ?? 150);
const ROUNDS = Number(process.env.ROUNDS ?? 16);
const HOT_SECONDS = Number(process.env.HOT_SECONDS ?? 4);
const HOLD_MS = Number(process.env.HOLD_MS ?? 5);
const HOT_WAITERS = Number(process.env.HOT_WAITERS ?? 64);
const OURS = 'couponlock';
/** HAND_OFF=off, or HAND_OFF=<maxCount>,<maxMs>: couponlock's hand-off bound (default: its own). */
const HAND_OFF = ((): LockServiceOptions['handOff'] => {
  const value = process.env.HAND_OFF;
  if (!value) return undefined;
  if (value === 'off') return false;
  const [maxCount, maxMs] = value.split(',').map(Number);
  return { maxCount, maxMs };
})();

const silent = { log: () => undefined, warn: () => undefined };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Holds for `ms`: a timer alone overshoots by ~1 ms on a busy machine (20% of a 5 ms hold),
 * which would be charged to the lock. Sleep most of it, then yield with setImmediate until the
 * time is up. (A busy spin would be more exact but starves the other processes on small boxes.)
 */
async function hold(ms: number): Promise<void> {
  const end = performance.now() + ms;
  const coarse = Math.floor(ms - 1.5);
  if (coarse >= 1) await sleep(coarse);
  while (performance.now() < end) await new Promise((resolve) => setImmediate(resolve));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** couponlock's own session (with its metrics on, as in the app), shaped like a peer's. */
function oursSession(options: LockServiceOptions): PeerSession {
  const service = new LockService({
    ...options,
    ...(HAND_OFF === undefined ? {} : { handOff: HAND_OFF }),
    logger: silent,
    waitMs: 60_000,
    metrics: new PrometheusLockMetrics(new Registry()),
  });
  return {
    async cycle(key, critical) {
      const lock = await service.acquire(key);
      try {
        await critical?.();
      } finally {
        await lock.release();
      }
    },
    close: () => service.close(),
  };
}

async function timeCycles(session: PeerSession, key: string, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await session.cycle(key);
  return ((performance.now() - start) * 1000) / n; // µs per acquire + release
}

/** Median µs per uncontended acquire + release, per contender. */
async function uncontended(backend: BenchBackend, prefix: string): Promise<Map<string, number>> {
  const sessions: [string, PeerSession][] = [[OURS, oursSession(backend.options(prefix))]];
  for (const peer of backend.peers) sessions.push([peer.name, await peer.open(prefix)]);
  try {
    for (const [, session] of sessions) await timeCycles(session, 'uncontended', 100); // warm-up
    const samples = new Map<string, number[]>(sessions.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < sessions.length; i++) {
        const [name, session] = sessions[(round + i) % sessions.length];
        samples.get(name)?.push(await timeCycles(session, 'uncontended', ITERATIONS));
      }
    }
    return new Map([...samples].map(([name, values]) => [name, median(values)]));
  } finally {
    for (const [, session] of sessions) await session.close();
  }
}

interface HotResult {
  readonly acquisitions: number;
  readonly errors: number;
  readonly holdMs: number;
  /** Waits (ms) of the acquisitions inside the window. */
  readonly waits: number[];
  /** Round trips this worker sent (backends that count per process only). */
  readonly roundTrips?: number;
  /**
   * Longest time (ms) between the end of one of this process's holds and the start of its next
   * one inside the window. Its waiters never run out, so this is the longest stretch the
   * process was kept waiting by the other process: the worst wait of a remote waiter.
   */
  readonly longestShutOutMs: number;
}

/**
 * Worker process: opens couponlock and the backend's `hot` peers, says "ready", then runs
 * `run <contender> <startAt>` commands (one hot window each) and answers each with a JSON line.
 */
async function hotWorker(): Promise<void> {
  const backend = BACKENDS[process.env.BENCH_BACKEND ?? '']();
  const prefix = process.env.BENCH_PREFIX ?? 'bench:';
  const waiters = Number(process.env.BENCH_WAITERS ?? 32);
  const options = JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as LockServiceOptions;
  const sessions = new Map<string, PeerSession>([[OURS, oursSession(options)]]);
  for (const peer of backend.peers.filter((p) => p.hot)) {
    sessions.set(peer.name, await peer.open(prefix));
  }
  for (const session of sessions.values()) await session.cycle('warm');
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  out('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, name, at] = line.split('\t');
    if (command !== 'run') break;
    const session = sessions.get(name);
    if (!session) throw new Error(`no contender ${name}`);
    const startAt = Number(at);
    const endAt = startAt + HOT_SECONDS * 1000;
    await sleep(Math.max(0, startAt - Date.now()));
    let acquisitions = 0;
    let errors = 0;
    let holdTotal = 0;
    const waits: number[] = [];
    // Holds never overlap within a process (one key), so each one's start follows the last end.
    let lastEnd: number | undefined;
    let longestShutOutMs = 0;
    const sentBefore = backend.roundTripsPerProcess ? await backend.roundTrips?.() : undefined;
    await Promise.all(
      Array.from({ length: waiters }, async () => {
        while (Date.now() < endAt) {
          const asked = performance.now();
          try {
            await session.cycle('hot', async () => {
              const t0 = performance.now();
              const waited = t0 - asked;
              if (lastEnd !== undefined && Date.now() <= endAt) {
                longestShutOutMs = Math.max(longestShutOutMs, t0 - lastEnd);
              }
              await hold(HOLD_MS);
              lastEnd = performance.now();
              if (Date.now() <= endAt) {
                acquisitions++;
                holdTotal += lastEnd - t0;
                waits.push(waited);
              }
            });
          } catch {
            errors++;
          }
        }
      }),
    );
    const result: HotResult = {
      acquisitions,
      errors,
      holdMs: acquisitions ? holdTotal / acquisitions : 0,
      waits,
      longestShutOutMs,
      roundTrips:
        sentBefore === undefined ? undefined : ((await backend.roundTrips?.()) ?? 0) - sentBefore,
    };
    out(JSON.stringify(result));
  }
  // readline leaves stdin open, which would keep this process alive.
  process.stdin.destroy();
  for (const session of sessions.values()) await session.close();
}

interface HotSummary {
  readonly throughput: number;
  readonly perProcess: number[];
  /** Worst wait of a remote waiter: the longest any process was kept out (ms). */
  readonly longestShutOutMs: number;
  readonly errors: number;
  readonly p99WaitMs: number;
  readonly holdMs: number;
  readonly roundTrips: number | undefined;
}

interface Worker {
  send(line: string): void;
  next(): Promise<string>;
  exited: Promise<void>;
}

function startWorker(backend: BenchBackend, prefix: string, waiters: number): Worker {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', __filename, '--hot-worker'],
    {
      env: {
        ...process.env,
        BENCH_BACKEND: backend.name,
        BENCH_PREFIX: prefix,
        BENCH_WAITERS: String(waiters),
        BENCH_OPTIONS: JSON.stringify(backend.options(prefix)),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const resolve = waiting.shift();
    if (resolve) resolve(line);
    else lines.push(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    send: (line) => child.stdin.write(`${line}\n`),
    next: () =>
      new Promise<string>((resolve, reject) => {
        const line = lines.shift();
        if (line !== undefined) return resolve(line);
        waiting.push(resolve);
        void exited.then(() => reject(new Error(`hot-key worker (${backend.name}) exited`)));
      }),
    exited,
  };
}

async function hotKey(
  backend: BenchBackend,
  prefix: string,
  contenders: readonly string[],
): Promise<Map<string, HotSummary>> {
  const processes = backend.processes ?? 2;
  const workers = Array.from({ length: processes }, () =>
    startWorker(backend, prefix, Math.round(HOT_WAITERS / processes)),
  );
  const results = new Map<string, HotSummary>();
  try {
    for (const worker of workers) {
      const line = await worker.next();
      if (line !== 'ready') throw new Error(`hot-key worker (${backend.name}): ${line}`);
    }
    for (const name of contenders) {
      const before = await backend.roundTrips?.();
      const startAt = Date.now() + 300;
      for (const worker of workers) worker.send(`run\t${name}\t${startAt}`);
      const parts = (await Promise.all(workers.map((w) => w.next()))).map(
        (line) => JSON.parse(line) as HotResult,
      );
      const after = await backend.roundTrips?.();
      const acquisitions = parts.reduce((s, p) => s + p.acquisitions, 0);
      const waits = parts.flatMap((p) => p.waits).sort((a, b) => a - b);
      results.set(name, {
        throughput: acquisitions / HOT_SECONDS,
        perProcess: parts.map((p) => p.acquisitions),
        longestShutOutMs: Math.max(...parts.map((p) => p.longestShutOutMs)),
        errors: parts.reduce((s, p) => s + p.errors, 0),
        p99WaitMs: quantile(waits, 0.99),
        holdMs:
          parts.reduce((s, p) => s + p.holdMs * p.acquisitions, 0) / Math.max(1, acquisitions),
        roundTrips: backend.roundTripsPerProcess
          ? parts.reduce((s, p) => s + (p.roundTrips ?? 0), 0) / Math.max(1, acquisitions)
          : before === undefined || after === undefined
            ? undefined
            : (after - before) / Math.max(1, acquisitions),
      });
    }
  } finally {
    for (const worker of workers) worker.send('exit');
    await Promise.all(workers.map((w) => w.exited));
  }
  return results;
}

interface Row {
  readonly backend: string;
  readonly contender: string;
  readonly kind: 'ours' | PeerContender['kind'];
  readonly uncontendedUs: number;
  readonly hot?: HotSummary;
  readonly processes: number;
}

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);

/** Acquisitions per second one client gets back to back: one hold plus one uncontended cycle. */
function ownSerialLimit(uncontendedUs: number): number {
  return 1000 / (HOLD_MS + uncontendedUs / 1000);
}

/** Each process's share of the hot key's acquisitions, in %. */
function shares(hot: HotSummary): number[] {
  const total = hot.perProcess.reduce((sum, n) => sum + n, 0);
  return hot.perProcess.map((n) => (100 * n) / Math.max(1, total));
}

function table(rows: readonly Row[]): string {
  const serialLimit = 1000 / HOLD_MS;
  const head = [
    'backend / contender',
    'uncontended µs',
    '× couponlock',
    'hot acq/s',
    '/ serial limit',
    '/ own serial limit',
    'key busy',
    'p99 wait ms',
    'share per process',
    'worst remote wait ms',
    'round trips / acq',
    'errors',
  ];
  const body = rows.map((row) => {
    const ours = rows.find((r) => r.backend === row.backend && r.kind === 'ours');
    const oursHot = ours?.hot?.throughput;
    const name =
      row.kind === 'ours'
        ? `${row.backend}${row.processes === 1 ? ' (1 process)' : ''}`
        : `  ${row.contender}${row.kind === 'floor' ? '' : ' (peer)'}`;
    const timeRatio =
      row.kind === 'ours' ? '1.00' : fmt(row.uncontendedUs / (ours?.uncontendedUs ?? NaN), 2);
    const hot = row.hot;
    const hotRatio = hot
      ? `${fmt(hot.throughput / serialLimit, 2)}${
          row.kind !== 'ours' && oursHot ? ` (ours ${fmt(oursHot / hot.throughput, 2)}×)` : ''
        }`
      : '';
    return [
      name,
      fmt(row.uncontendedUs),
      timeRatio,
      hot ? fmt(hot.throughput) : '',
      hotRatio,
      hot ? fmt(hot.throughput / ownSerialLimit(row.uncontendedUs), 2) : '',
      hot ? fmt((hot.throughput * hot.holdMs) / 1000, 2) : '',
      hot ? fmt(hot.p99WaitMs) : '',
      hot
        ? shares(hot)
            .map((p) => `${fmt(p, 0)}%`)
            .join(' / ')
        : '',
      hot && row.processes > 1 ? fmt(hot.longestShutOutMs) : '',
      hot ? fmt(hot.roundTrips) : '',
      hot ? String(hot.errors) : '',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(head),
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...body.map(line),
  ].join('\n');
}

/** One line of the target list: label, measured value (as printed), met. */
type Target = readonly [string, string, boolean];

/** The targets of issue 10 for one backend's rows (see the README's "Measured costs"). */
function targetsFor(name: string, rows: readonly Row[]): Target[] {
  const ours = rows.find((r) => r.kind === 'ours');
  const hot = ours?.hot;
  if (!ours || !hot) return [];
  const out: Target[] = [];
  const peer = (contender: string): Row | undefined => rows.find((r) => r.contender === contender);
  if (name === 'redis') {
    for (const contender of ['node-redlock', 'redis-semaphore Mutex']) {
      const r = peer(contender);
      if (!r) continue;
      const ratio = r.uncontendedUs / ours.uncontendedUs;
      out.push([`redis: uncontended vs ${contender} >= 1.0×`, `${fmt(ratio, 2)}×`, ratio >= 1]);
    }
    const limit = hot.throughput / (1000 / HOLD_MS);
    out.push(['redis: hot key / serial limit >= 0.9', fmt(limit, 2), limit >= 0.9]);
    const semaphore = peer('redis-semaphore Mutex')?.hot;
    if (semaphore) {
      const ratio = hot.throughput / semaphore.throughput;
      out.push(['redis: hot key vs redis-semaphore >= 1.2×', `${fmt(ratio, 2)}×`, ratio >= 1.2]);
    }
  }
  const own = hot.throughput / ownSerialLimit(ours.uncontendedUs);
  out.push([`${name}: hot key / own serial limit >= 0.9`, fmt(own, 2), own >= 0.9]);
  if (ours.processes > 1) {
    const share = shares(hot);
    const fair = share.every((p) => p >= 40 && p <= 60);
    out.push([
      `${name}: share per process in 40–60%`,
      share.map((p) => `${fmt(p, 0)}%`).join(' / '),
      fair,
    ]);
    out.push([`${name}: worst remote wait (ms, reported)`, fmt(hot.longestShutOutMs), true]);
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const wanted = (process.env.BENCH_BACKENDS ?? Object.keys(BACKENDS).join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of wanted) {
    if (!BACKENDS[name]) {
      throw new Error(`unknown backend "${name}" (known: ${Object.keys(BACKENDS).join(', ')})`);
    }
  }
  console.log(
    `lock benchmark  node=${process.version}  load=${loadavg()[0].toFixed(1)} on ${availableParallelism()} cpus  backends=${wanted.join(',')}  uncontended ${ITERATIONS}x${ROUNDS} rounds  hot key ${HOT_SECONDS}s, ${HOT_WAITERS} waiters, hold ${HOLD_MS} ms (serial limit ${fmt(1000 / HOLD_MS)} acq/s)`,
  );
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const name of wanted) {
    const backend = BACKENDS[name]();
    const prefix = `bench:lock:${randomUUID()}:`;
    const t0 = Date.now();
    await backend.setup?.();
    try {
      const times = await uncontended(backend, prefix);
      const hotNames = [OURS, ...backend.peers.filter((p) => p.hot).map((p) => p.name)];
      const hot = await hotKey(backend, prefix, hotNames);
      const processes = backend.processes ?? 2;
      const firstRow = rows.length;
      rows.push({
        backend: name,
        contender: OURS,
        kind: 'ours',
        uncontendedUs: times.get(OURS) ?? NaN,
        hot: hot.get(OURS),
        processes,
      });
      for (const peer of backend.peers) {
        rows.push({
          backend: name,
          contender: peer.name,
          kind: peer.kind,
          uncontendedUs: times.get(peer.name) ?? NaN,
          hot: hot.get(peer.name),
          processes,
        });
      }
      targets.push(...targetsFor(name, rows.slice(firstRow)));
      console.log(`  ${name} measured in ${fmt((Date.now() - t0) / 1000)} s`);
    } finally {
      await backend.teardown?.();
    }
  }
  console.log(`\n${table(rows)}\n`);
  console.log(
    "× couponlock: the contender's uncontended time over couponlock's (> 1: couponlock is faster). " +
      "/ serial limit: hot-key acquisitions per second over 1/hold; (ours N×): couponlock's " +
      "hot-key rate over the peer's. / own serial limit: over 1/(hold + that contender's " +
      'uncontended acquire + release), what one client gets back to back. Share per process: ' +
      "each worker process's share of the acquisitions. Worst remote wait: the longest a process " +
      'went without the key while its waiters waited (the other process held it). ' +
      'Round trips: per acquisition ' +
      "over the hot window, from the server's counter (redis, zookeeper) or the statements the " +
      'clients sent (postgres); — : no server to count. Key busy: ' +
      'acquisitions per second × the measured mean hold, the share of the window the key was held ' +
      '(1 - hand-over time).',
  );
  for (const [label, value, met] of targets) {
    console.log(`  ${label.padEnd(48)} ${value.padStart(11)}  ${met ? 'met' : 'MISSED'}`);
  }
  const missed = targets.filter(([, , met]) => !met).length;
  console.log(
    `\n${missed === 0 ? 'all targets met' : `${missed} target(s) missed`} (${fmt((Date.now() - started) / 1000)} s)`,
  );
  if (missed > 0 && process.env.STRICT === '1') process.exitCode = 1;
}

(process.argv.includes('--hot-worker') ? hotWorker() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
