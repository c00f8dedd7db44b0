import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CheckoutsService } from './checkouts.service';

/**
 * Releases expired checkout holds on every instance, every CHECKOUT_SWEEP_INTERVAL_MS.
 * Correctness never waits for it: an expired hold cannot be confirmed (PostgreSQL clock), and
 * whoever needs its stock or coupon use reclaims them inline. It keeps `reserved` and
 * `heldCount` true for readers. Instances sweeping at once are safe: a hold is claimed by one
 * conditional transition (CheckoutsService.sweep).
 */
@Injectable()
export class CheckoutSweeper implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CheckoutSweeper');
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;

  constructor(
    private readonly checkouts: CheckoutsService,
    config: AppConfig,
  ) {
    this.intervalMs = config.get('CHECKOUT_SWEEP_INTERVAL_MS');
    this.batchSize = config.get('CHECKOUT_SWEEP_BATCH_SIZE');
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    // A pending sweep must never keep a stopping process alive.
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // Let a sweep in flight finish before the connection pool closes under it.
    await this.running;
  }

  /**
   * One pass: batches until fewer than a batch are left (or the process stops), skipped if
   * the previous pass is still going. Resolves to the number of holds this pass released.
   */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    let total = 0;
    try {
      while (!this.stopped) {
        const released = await this.checkouts.sweep(this.batchSize);
        total += released;
        if (released < this.batchSize) break;
      }
      if (total > 0) this.logger.debug(`released ${total} expired checkout hold(s)`);
    } catch (error) {
      this.logger.warn({ err: error }, 'sweeping expired checkout holds failed; next pass retries');
    }
    return total;
  }
}
