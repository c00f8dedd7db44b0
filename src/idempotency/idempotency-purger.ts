import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PURGE_INTERVAL_MS } from './idempotency.constants';
import { IdempotencyService } from './idempotency.service';

/**
 * Deletes expired keys now and then. Correctness never depends on it (an expired row is
 * reclaimed on use); it only keeps the table from growing. Every replica runs it; SKIP LOCKED
 * keeps them from stepping on each other.
 */
@Injectable()
export class IdempotencyPurger implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Idempotency');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly idempotency: IdempotencyService) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    // A pending purge must never keep a stopping process alive.
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    // Let a purge in flight finish before the connection pool closes under it.
    await this.running;
  }

  /** One purge pass, skipped if the previous one is still going. */
  purge(): Promise<void> {
    this.running ??= this.idempotency
      .purgeExpired()
      .then(
        (deleted) => {
          if (deleted > 0) this.logger.log(`purged ${deleted} expired idempotency key(s)`);
        },
        (error: unknown) => this.logger.warn({ err: error }, 'purging idempotency keys failed'),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
