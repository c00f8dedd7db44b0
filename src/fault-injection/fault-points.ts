import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

/**
 * The named places between the steps of a change, in the order a request passes them:
 *
 * 1. `idempotency.claimed`: the Idempotency-Key claim is committed, nothing else has happened;
 * 2. `transaction.work-done`: the business statements ran in the open transaction;
 * 3. `transaction.before-commit`: the stored answer is written too, COMMIT is next;
 * 4. `transaction.committed`: COMMIT succeeded; the lock is still held, no answer sent;
 * 5. `idempotency.before-response`: the handler returned, the answer is about to be sent.
 */
export const FAULT_POINTS = [
  'idempotency.claimed',
  'transaction.work-done',
  'transaction.before-commit',
  'transaction.committed',
  'idempotency.before-response',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/**
 * - `kill`: SIGKILL this process on the spot, like a crash or an OOM kill;
 * - `fail`: throw FaultInjectedError, like any unexpected error in that step;
 * - `drop-connection`: terminate the open transaction's database session from another one
 *   (the server rolls it back; the next statement finds the connection gone);
 * - `lose-answer`: let the next statement (COMMIT at `transaction.before-commit`) reach the
 *   server, then cut the connection before its answer arrives: the change most likely
 *   committed, and nobody on this side can know.
 */
export const FAULT_ACTIONS = ['kill', 'fail', 'drop-connection', 'lose-answer'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export class FaultInjectedError extends Error {
  constructor(readonly point: FaultPoint) {
    super(`fault injected at ${point}`);
    this.name = 'FaultInjectedError';
  }
}

/** What a step offers a fault point to act on. */
export interface FaultContext {
  /** Terminates the step's database session (for `drop-connection`). */
  dropConnection?: () => Promise<void>;
  /** Cuts the step's connection once its next statement is sent (for `lose-answer`). */
  loseNextAnswer?: () => void;
}

/** Parses `FAULT_POINTS` (`point=action[,point=action]`); throws on an unknown point or action. */
export function parseFaultPoints(spec: string): Map<FaultPoint, FaultAction> {
  const armed = new Map<FaultPoint, FaultAction>();
  for (const entry of spec.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [point, action] = entry.split('=').map((part) => part.trim());
    if (!FAULT_POINTS.includes(point as FaultPoint)) {
      throw new Error(`unknown fault point "${point}" (known: ${FAULT_POINTS.join(', ')})`);
    }
    if (!FAULT_ACTIONS.includes(action as FaultAction)) {
      throw new Error(`unknown fault action "${action}" (known: ${FAULT_ACTIONS.join(', ')})`);
    }
    armed.set(point as FaultPoint, action as FaultAction);
  }
  return armed;
}

/**
 * Fault injection for the crash-point tests (test/faults): the same idea as FreeBSD's fail(9),
 * etcd's gofail or TiKV's fail-rs, reduced to what this service needs. Every step of a change
 * calls `reach(point)`; unless FAULT_POINTS arms that point it returns at once and costs one
 * map lookup. Config validation refuses FAULT_POINTS in production.
 */
@Injectable()
export class FaultPoints {
  private readonly logger = new Logger('FaultPoints');
  private readonly armed: ReadonlyMap<FaultPoint, FaultAction>;

  constructor(config: AppConfig) {
    this.armed = parseFaultPoints(config.get('FAULT_POINTS'));
    for (const [point, action] of this.armed) this.logger.warn(`armed: ${point} -> ${action}`);
  }

  async reach(point: FaultPoint, context: FaultContext = {}): Promise<void> {
    const action = this.armed.get(point);
    if (action === undefined) return;
    this.logger.warn(`fault point ${point} reached: ${action}`);
    switch (action) {
      case 'kill':
        process.kill(process.pid, 'SIGKILL');
        // SIGKILL is not delivered synchronously; nothing after this point may run.
        await new Promise<never>(() => undefined);
        return;
      case 'fail':
        throw new FaultInjectedError(point);
      case 'drop-connection':
        if (!context.dropConnection) throw new Error(`${point} has no connection to drop`);
        await context.dropConnection();
        return;
      case 'lose-answer':
        if (!context.loseNextAnswer) throw new Error(`${point} has no answer to lose`);
        context.loseNextAnswer();
        return;
    }
  }
}
