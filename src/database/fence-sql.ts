/**
 * The one fencing-token guard of every repository, as SQL fragments (Kleppmann, "How to do
 * distributed locking", 2016: the storage refuses a token older than one it has seen).
 * `fence` is the writer's token as a bigint expression; NULL means the write runs without a
 * lock (the `atomic`, `pessimistic` and `optimistic` strategies), which no fence can refuse.
 */

/** True when the writer's fence is older than the row's last one: the write must not happen. */
export function staleFence(lastFence: string, fence: string): string {
  return `(${fence} IS NOT NULL AND ${lastFence} > ${fence})`;
}

/**
 * The row's fence after a write: it only moves forward. PostgreSQL's GREATEST ignores NULL,
 * so a write without a fence leaves it as it is.
 */
export function advancedFence(lastFence: string, fence: string): string {
  return `GREATEST(${lastFence}, ${fence})`;
}
