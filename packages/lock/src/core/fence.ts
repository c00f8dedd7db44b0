/**
 * Fence tokens are decimal strings (Redis INCR values read back with GET) so they stay exact
 * beyond 2^53; compare them as BigInt, never as numbers.
 */

const FENCE_PATTERN = /^(0|[1-9][0-9]*)$/;

export function isFence(value: unknown): value is string {
  return typeof value === 'string' && FENCE_PATTERN.test(value);
}

/** Negative when `a` is older than `b`, zero when equal, positive when newer. */
export function compareFences(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when `candidate` was issued after `previous` for the same key. */
export function isNewerFence(candidate: string, previous: string | null | undefined): boolean {
  return previous == null || compareFences(candidate, previous) > 0;
}

export function maxFence(values: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const value of values) {
    if (best === undefined || compareFences(value, best) > 0) best = value;
  }
  return best;
}
