import { Cluster } from '../../../load/http';
import type { ScenarioContext } from '../../../load/scenarios';
import { formatVerdictTable, type Verdict } from '../../../load/verdict';
import { AppProcess } from '../app-process';
import { ADMIN_KEY, STOREFRONT_KEY } from '../test-env';

/** Requests in flight over all instances: enough to contend hard, small enough for 2 cores. */
export const CONCURRENCY = 64;

export interface LoadCluster {
  processes: AppProcess[];
  cluster: Cluster;
  /** Verdicts run so far, printed as one table by close(). */
  verdicts: Verdict[];
  close(): Promise<void>;
}

/**
 * Starts `instances` real app processes (dist/main.js) on the test database that share ONE
 * Redis key prefix, so they contend on the same locks, and a harness Cluster that spreads
 * requests over them round-robin.
 */
export async function startLoadCluster(
  name: string,
  overrides: Record<string, string> = {},
  instances = 2,
): Promise<LoadCluster> {
  const env = { REDIS_KEY_PREFIX: `test:load:${process.pid}:${name}:`, ...overrides };
  const processes = await Promise.all(
    Array.from({ length: instances }, () => AppProcess.start(env)),
  );
  const cluster = new Cluster({
    baseUrls: processes.map((app) => app.url),
    apiKey: STOREFRONT_KEY,
    adminApiKey: ADMIN_KEY,
    connectionsPerUrl: Math.ceil(CONCURRENCY / instances) + 8,
  });
  const verdicts: Verdict[] = [];
  return {
    processes,
    cluster,
    verdicts,
    close: async () => {
      if (verdicts.length > 0) {
        const caught = verdicts
          .filter((verdict) => verdict.expectedToFail)
          .flatMap((verdict) => verdict.notes);
        process.stdout.write(
          `\n[${name}]\n${formatVerdictTable(verdicts)}\n${caught.map((n) => `${n}\n`).join('')}`,
        );
      }
      await cluster.close();
      await Promise.all(processes.map((app) => app.stop()));
    },
  };
}

/** A load cluster that lives as long as the describe block that asked for it. */
export interface LoadSuite {
  /** The running cluster; only inside tests and hooks (beforeAll started it). */
  readonly load: LoadCluster;
  /** What a scenario gets: the cluster, `concurrency` requests in flight (CONCURRENCY). */
  ctx(concurrency?: number): ScenarioContext;
}

/**
 * Starts a load cluster (startLoadCluster) before the tests of the calling describe block and
 * closes it, printing its verdict table, after them: the setup every storm suite shares.
 */
export function useLoadCluster(
  name: string,
  overrides: Record<string, string> = {},
  instances = 2,
): LoadSuite {
  let started: LoadCluster | undefined;
  beforeAll(async () => {
    started = await startLoadCluster(name, overrides, instances);
  });
  afterAll(async () => {
    await started?.close();
  });
  const current = (): LoadCluster => {
    if (!started) throw new Error(`load cluster ${name} is not running (used outside a test?)`);
    return started;
  };
  return {
    get load() {
      return current();
    },
    ctx: (concurrency = CONCURRENCY) => ({ cluster: current().cluster, concurrency }),
  };
}

/** Failed checks, readable in a jest diff (an empty list means the verdict passed). */
export function failedChecks(verdict: Verdict): string[] {
  return verdict.checks
    .filter((check) => !check.ok)
    .map((check) => `${check.name}: expected ${check.expected}, got ${check.actual}`);
}
