import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** A JSON object as it came over the wire; scenarios read fields through the helpers below. */
export type JsonObject = Record<string, unknown>;

export type Method = 'GET' | 'POST' | 'PATCH';

export interface RequestSpec {
  method: Method;
  /** Path with query string, e.g. `/v1/coupons/ABC/redeem`. */
  path: string;
  body?: unknown;
  /** Send the admin key instead of the storefront key. */
  admin?: boolean;
}

/** One answer: what the server said (or that it said nothing), and how long it took. */
export interface Answer {
  /** HTTP status; 0 when the request failed without an answer (connection refused, reset...). */
  status: number;
  /** The problem+json `code` of an error answer, if any. */
  code: string | null;
  /** The parsed JSON body when it is an object, else null. */
  body: JsonObject | null;
  latencyMs: number;
  /** Which base URL served it (index into the cluster's list). */
  target: number;
  /** Network error message when status is 0. */
  error?: string;
}

export interface ClusterOptions {
  /** One entry per app instance (or one load balancer). */
  baseUrls: readonly string[];
  /** Storefront key: redeem, decrement, orders, reads. */
  apiKey: string;
  /** Admin key: creating coupons and products, reading ledgers. */
  adminApiKey: string;
  /** Keep-alive connections per base URL (at least the per-instance concurrency). */
  connectionsPerUrl?: number;
}

/**
 * The app instances a scenario talks to: one undici Pool (keep-alive connections) per base URL.
 * Requests are addressed by an index and spread round-robin (`index % baseUrls.length`), so
 * consecutive attempts on one coupon or SKU reach different processes and really contend on
 * their shared locks, exactly like the k6 scripts' BASE_URLS.
 */
export class Cluster {
  readonly baseUrls: readonly string[];
  private readonly pools: Pool[];

  constructor(private readonly options: ClusterOptions) {
    if (options.baseUrls.length === 0) throw new Error('Cluster needs at least one base URL');
    this.baseUrls = options.baseUrls.map((url) => url.replace(/\/+$/, ''));
    this.pools = this.baseUrls.map(
      (url) =>
        new Pool(url, {
          connections: options.connectionsPerUrl ?? 64,
          pipelining: 1,
          // Generous: a storm on 2 cores can keep a request waiting for its lock for seconds.
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        }),
    );
  }

  get size(): number {
    return this.baseUrls.length;
  }

  /** Sends one request to instance `index % size`. Never throws: failures become status 0. */
  async send(spec: RequestSpec, index = 0): Promise<Answer> {
    const target = ((index % this.size) + this.size) % this.size;
    const pool = this.pools[target];
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'x-api-key': spec.admin ? this.options.adminApiKey : this.options.apiKey,
    };
    let payload: string | undefined;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(spec.body);
    }
    const started = performance.now();
    try {
      const response = await pool.request({
        method: spec.method,
        path: spec.path,
        headers,
        body: payload,
      });
      const text = await response.body.text();
      const latencyMs = performance.now() - started;
      const body = parseObject(text);
      const code = body && typeof body.code === 'string' ? body.code : null;
      return { status: response.statusCode, code, body, latencyMs, target };
    } catch (error) {
      return {
        status: 0,
        code: null,
        body: null,
        latencyMs: performance.now() - started,
        target,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.close()));
  }
}

function parseObject(text: string): JsonObject | null {
  if (text === '') return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as JsonObject)
      : null;
  } catch {
    return null;
  }
}

/** One line describing an answer, for failure messages. */
export function describeAnswer(answer: Answer): string {
  if (answer.status === 0) return `no answer (${answer.error ?? 'network error'})`;
  const parts = [`HTTP ${answer.status}`];
  if (answer.code) parts.push(answer.code);
  const detail = answer.body?.detail;
  if (typeof detail === 'string') parts.push(`"${detail}"`);
  return parts.join(' ');
}

export function str(body: JsonObject | null, key: string): string | undefined {
  const value = body?.[key];
  return typeof value === 'string' ? value : undefined;
}

export function num(body: JsonObject | null, key: string): number | undefined {
  const value = body?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** URL path segment for ids and codes. */
export const seg = (value: string): string => encodeURIComponent(value);

/** Codes are case-insensitive on the server. */
export const sameCode = (a: unknown, b: string): boolean =>
  typeof a === 'string' && a.toUpperCase() === b.toUpperCase();
