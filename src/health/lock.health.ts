import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LockService } from '@couponlock/lock';

/**
 * The lock backend (LOCK_BACKEND), reported under its name: `redis`, `memory`, or `postgres-lock`
 * (`postgres` is the app's database check).
 */
@Injectable()
export class LockHealthIndicator {
  constructor(
    private readonly locks: LockService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(): Promise<HealthIndicatorResult> {
    // The app's own database is checked as `postgres`; a lock kept there gets its own entry.
    const name = this.locks.backendName === 'postgres' ? 'postgres-lock' : this.locks.backendName;
    const indicator = this.health.check(name);
    // health() pings with the lock's own command timeout and never throws.
    const { up, detail } = await this.locks.health();
    return up ? indicator.up() : indicator.down({ message: detail ?? 'unavailable' });
  }
}
