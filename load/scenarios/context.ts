import { runStorm, type StormOptions, type StormResult } from '../harness';
import type { Cluster } from '../http';

/** What every scenario gets: where to send requests, how hard, and where to report progress. */
export interface ScenarioContext {
  cluster: Cluster;
  /** Requests in flight at once, over all instances. */
  concurrency: number;
  /** Returns a progress callback for a storm (see progressReporter), or undefined for silence. */
  progress?: (label: string) => ((done: number, total: number) => void) | undefined;
}

/**
 * Runs a scenario's storm on its cluster, at its concurrency unless the storm names its own, and
 * reports progress under the storm's name.
 */
export function scenarioStorm(
  ctx: ScenarioContext,
  options: Omit<StormOptions, 'cluster' | 'concurrency' | 'onProgress'> & { concurrency?: number },
): Promise<StormResult> {
  return runStorm({
    ...options,
    cluster: ctx.cluster,
    concurrency: options.concurrency ?? ctx.concurrency,
    onProgress: ctx.progress?.(options.name),
  });
}

/** A storm's three buckets, as the verdict rows and facts show them. */
export function stormCounts(
  storm: StormResult,
): Pick<StormResult, 'successes' | 'refusals' | 'unexpected'> {
  return { successes: storm.successes, refusals: storm.refusals, unexpected: storm.unexpected };
}
