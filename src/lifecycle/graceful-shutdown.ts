import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { LockService } from '@couponlock/lock';

/** How long the forced path may spend releasing held locks before it exits anyway, in ms. */
const FORCED_RELEASE_MS = 1000;

/**
 * The order of a graceful shutdown, started by SIGTERM or SIGINT:
 *
 * 1. Drain: a request arriving on an open keep-alive connection is answered 503 SHUTTING_DOWN
 *    with Retry-After (common/http/draining.ts); answers in flight close their connection.
 * 2. Lock waits end: `LockService.shutdown()` fails every queued or retrying acquire, and every
 *    new one, with LockShuttingDownError (503 SHUTTING_DOWN, Retry-After). Holders go on:
 *    their reentrant acquires still succeed, so a request that holds its locks finishes.
 * 3. `app.close()`: the server stops accepting connections and waits for the requests in
 *    flight; then Nest's shutdown hooks release every lock still held (LockService.close),
 *    and close the lock backend's connections and the PostgreSQL pool.
 * 4. Exit 0.
 *
 * SHUTDOWN_GRACE_MS bounds it all (config validation makes it cover a lock wait plus a
 * statement). Past it, the locks still held are released (best effort, about a second), so
 * no other instance waits out their leases, and the process exits 1.
 */
export class GracefulShutdown {
  private readonly logger = new Logger('Shutdown');
  private started = false;

  constructor(
    private readonly app: NestFastifyApplication,
    private readonly graceMs: number,
  ) {}

  /** Runs the shutdown once on the first of these signals. */
  listen(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    for (const signal of signals) process.once(signal, () => void this.run(signal));
  }

  async run(reason: string): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.logger.log(`${reason} received: draining`);
    const deadline = setTimeout(() => void this.giveUp(), this.graceMs);
    deadline.unref();

    this.app.getHttpAdapter().getInstance().startDraining();
    try {
      // LockModule does this too, in beforeApplicationShutdown; doing it first does not depend
      // on the order of Nest's hooks (idempotent).
      await this.app.get(LockService).shutdown();
      await this.app.close();
    } catch (error) {
      this.logger.error({ err: error }, 'shutdown failed');
      await this.releaseLocksAndExit(1);
      return;
    }
    clearTimeout(deadline);
    this.logger.log('stopped');
    process.exit(0);
  }

  private async giveUp(): Promise<void> {
    this.logger.error(`shutdown took longer than ${this.graceMs} ms; releasing locks and exiting`);
    await this.releaseLocksAndExit(1);
  }

  private async releaseLocksAndExit(code: number): Promise<never> {
    const released = this.app
      .get(LockService)
      .close()
      .catch((error: unknown) => this.logger.error({ err: error }, 'releasing locks failed'));
    await Promise.race([
      released,
      new Promise((resolve) => setTimeout(resolve, FORCED_RELEASE_MS)),
    ]);
    process.exit(code);
  }
}
