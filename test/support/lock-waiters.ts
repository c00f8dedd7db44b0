import type { AppProcess } from './app-process';
import { waitFor } from './ports';

/** How many acquires of a key family found the lock taken and waited, per the app's metrics. */
export async function contendedAcquires(app: AppProcess, family: string): Promise<number> {
  const metrics = await app.api.get('/metrics');
  const match = new RegExp(`^lock_contended_total\\{family="${family}"\\} (\\d+)$`, 'm').exec(
    metrics.body as string,
  );
  return match ? Number(match[1]) : 0;
}

/**
 * Waits until `count` more acquires of `family` wait for their lock across `apps` than before
 * (`before` from contendedAcquires): the requests are queued, not merely sent.
 */
export async function untilWaiting(
  apps: readonly AppProcess[],
  family: string,
  before: number,
  count: number,
): Promise<void> {
  await waitFor(
    `${count} ${family} lock waiters`,
    async () => {
      const now = await Promise.all(apps.map((app) => contendedAcquires(app, family)));
      return now.reduce((sum, n) => sum + n, 0) - before >= count;
    },
    // Queueing 150 requests is slow on a loaded 2-core machine; this is a wait, not a speed test.
    60_000,
  );
}
