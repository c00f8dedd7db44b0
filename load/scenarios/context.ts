import type { Cluster } from '../http';

/** What every scenario gets: where to send requests, how hard, and where to report progress. */
export interface ScenarioContext {
  cluster: Cluster;
  /** Requests in flight at once, over all instances. */
  concurrency: number;
  /** Returns a progress callback for a storm (see progressReporter), or undefined for silence. */
  progress?: (label: string) => ((done: number, total: number) => void) | undefined;
}
