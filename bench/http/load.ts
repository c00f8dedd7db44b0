/**
 * Two ways of loading the service, both spreading requests round-robin over every instance:
 *
 * - closedLoop: autocannon with a fixed number of connections, each sending its next request
 *   as soon as the previous answer arrives (saturation throughput).
 * - openLoop: requests start on a fixed schedule (rate r: request i is due at i/r s) whatever
 *   the service does, and latency is counted from the scheduled start, so queueing behind a
 *   slow answer is measured rather than hidden. autocannon's overallRate cannot do this: it
 *   gives each connection a per-second quota that it fires back-to-back at the start of each
 *   second, which is a burst every second, not an arrival rate. undici does the sending.
 */
import { inspect } from 'node:util';
import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Call {
  path: string;
  body: string;
  /** POST unless given (closedLoop only). */
  method?: 'GET' | 'POST';
}

/** What one run (or several merged runs) of a workload measured. */
export interface Measured {
  /** Wall time of the measurement, in seconds. */
  seconds: number;
  successes: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  errors: number;
  /** Count per HTTP status (and "error" for no answer), for diagnosis. */
  statuses: Record<string, number>;
  /** Latency of each successful request, ms. */
  latencies: Float64Array;
}

/** The summary that reports quote. */
export interface LoadResult {
  seconds: number;
  successes: number;
  errors: number;
  statuses: Record<string, number>;
  /** Successful answers per second. */
  throughput: number;
  /** Latency of successful answers, ms. */
  p50: number;
  p99: number;
  mean: number;
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}

export function mergeMeasured(a: Measured, b: Measured): Measured {
  const statuses = { ...a.statuses };
  for (const [status, count] of Object.entries(b.statuses)) {
    statuses[status] = (statuses[status] ?? 0) + count;
  }
  const latencies = new Float64Array(a.latencies.length + b.latencies.length);
  latencies.set(a.latencies);
  latencies.set(b.latencies, a.latencies.length);
  return {
    seconds: a.seconds + b.seconds,
    successes: a.successes + b.successes,
    errors: a.errors + b.errors,
    statuses,
    latencies,
  };
}

export function summariseLoad(measured: Measured): LoadResult {
  const sorted = measured.latencies.slice().sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    seconds: measured.seconds,
    successes: measured.successes,
    errors: measured.errors,
    statuses: measured.statuses,
    throughput: measured.successes / measured.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

const JSON_HEADERS = (apiKey: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-api-key': apiKey,
});

export interface ClosedLoopOptions {
  urls: readonly string[];
  apiKey: string;
  connections: number;
  seconds: number;
  next: () => Call;
}

/** Saturation: `connections` in flight at all times for `seconds`. */
export function closedLoop(options: ClosedLoopOptions): Promise<Measured> {
  const latencies: number[] = [];
  return new Promise<Measured>((resolve, reject) => {
    const instance = autocannon(
      {
        // autocannon takes an array of URLs and deals connections out round-robin; its
        // type definitions only admit a single string.
        url: options.urls as unknown as string,
        connections: options.connections,
        duration: options.seconds,
        method: 'POST',
        headers: JSON_HEADERS(options.apiKey),
        timeout: 30,
        requests: [{ setupRequest: (request) => ({ ...request, ...options.next() }) }],
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(`autocannon: ${inspect(error)}`));
          return;
        }
        const statuses: Record<string, number> = {};
        for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
          statuses[status] = stat.count ?? 0;
        }
        if (result.errors > 0) statuses.error = result.errors;
        resolve({
          seconds: result.duration,
          successes: result['2xx'],
          errors: result.non2xx + result.errors,
          statuses,
          latencies: Float64Array.from(latencies),
        });
      },
    );
    // autocannon's own histogram keeps whole milliseconds; the event carries the exact time.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

export interface OpenLoopOptions {
  urls: readonly string[];
  apiKey: string;
  rate: number;
  seconds: number;
  next: () => Call;
  /** Connections per instance; enough that the client is never the bottleneck. */
  connectionsPerUrl?: number;
}

/** Fixed arrival rate for `seconds`, then waits for every answer. */
export async function openLoop(options: OpenLoopOptions): Promise<Measured> {
  const pools = options.urls.map(
    (url) =>
      new Pool(url, {
        connections: options.connectionsPerUrl ?? 256,
        pipelining: 1,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      }),
  );
  const headers = JSON_HEADERS(options.apiKey);
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const inFlight: Promise<void>[] = [];
  let successes = 0;
  let lastAnswer = 0;

  const send = async (i: number, due: number): Promise<void> => {
    const call = options.next();
    const pool = pools[i % pools.length];
    let status = 'error';
    try {
      const response = await pool.request({
        method: 'POST',
        path: call.path,
        headers,
        body: call.body,
      });
      await response.body.dump();
      status = String(response.statusCode);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        successes++;
        latencies.push(performance.now() - due);
      }
    } catch {
      // Counted below as "error": no answer at all.
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    lastAnswer = performance.now();
  };

  const start = performance.now() + 20;
  let sent = 0;
  try {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && start + sent * intervalMs <= now) {
          inFlight.push(send(sent, start + sent * intervalMs));
          sent++;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, Math.max(0, Math.min(5, start + sent * intervalMs - now)));
      };
      setTimeout(tick, Math.max(0, start - performance.now()));
    });
    await Promise.all(inFlight);
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  return {
    // From the first scheduled start to the last answer: achieved rate, backlog included.
    seconds: (lastAnswer - start) / 1000,
    successes,
    errors: total - successes,
    statuses,
    latencies: Float64Array.from(latencies),
  };
}
