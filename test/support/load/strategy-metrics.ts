import type { AppProcess } from '../app-process';

/**
 * The sum of a metric's samples whose labels include `labels`, over every process's /metrics
 * (Prometheus text format). Throws when no process serves the metric at all, so a renamed or
 * missing metric fails the test instead of reading as 0.
 */
export async function metricSum(
  processes: readonly AppProcess[],
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  let total = 0;
  let seen = false;
  for (const app of processes) {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      seen = true;
      const present = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]),
      );
      if (Object.entries(labels).every(([key, value]) => present[key] === value)) {
        total += Number(match[3]);
      }
    }
  }
  if (!seen) throw new Error(`no process serves ${name}`);
  return total;
}
