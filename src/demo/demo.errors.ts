import { DomainError, RetryableError } from '../common/errors/domain-error';

/** One storm at a time per instance: two would share the CPU and blur each other's numbers. */
export class DemoStormRunningError extends DomainError {
  constructor() {
    super('DEMO_STORM_RUNNING', 'A storm is already running on this instance.');
  }
}

/** The load harness (load/live.ts, run with ts-node) is not present, e.g. in an image. */
export class DemoUnavailableError extends RetryableError {
  constructor(reason: string) {
    super('DEMO_UNAVAILABLE', `The storm runner cannot start here: ${reason}`);
  }
}
