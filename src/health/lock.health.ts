import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LockService } from '@couponlock/lock';

/** The lock backend (LOCK_BACKEND), reported under its name: `redis`, `memory`. */
@Injectable()
export class LockHealthIndicator {
  constructor(
    private readonly locks: LockService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.locks.backendName);
    // health() pings with the lock's own command timeout and never throws.
    const { up, detail } = await this.locks.health();
    return up ? indicator.up() : indicator.down({ message: detail ?? 'unavailable' });
  }
}
