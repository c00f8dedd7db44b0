import type { EntityManager } from 'typeorm';
import type { CommitParticipant } from '../database/transaction-runner';
import { IdempotencyInProgressError } from './idempotency.errors';
import type { Claim, StoredResponse } from './idempotency-key.repository';
import type { IdempotencyService } from './idempotency.service';

/** Turns a service's result into the response body a route sends (see @Idempotent). */
export type Presenter = (result: never) => unknown;

/**
 * The answer to one Idempotency-Key request, committed in the same transaction as the change
 * it answers. TransactionRunner calls `beforeCommit` with the result of the request's change
 * right before COMMIT; the route's presenter turns it into exactly the body the route sends.
 */
export class StoredAnswer implements CommitParticipant {
  private written: StoredResponse | undefined;
  private isCommitted = false;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly claim: Claim,
    /** The route's success status (Nest sets it before interceptors run). */
    private readonly status: number,
    private readonly present: Presenter,
  ) {}

  async beforeCommit(manager: EntityManager, result: unknown): Promise<void> {
    if (this.written) {
      // A second change would commit without an answer of its own: not exactly-once.
      throw new Error('a request with an Idempotency-Key may commit one change only');
    }
    const response = {
      status: this.status,
      body: (this.present as (r: unknown) => unknown)(result),
    };
    if (!(await this.idempotency.completeWith(manager, this.claim, response))) {
      // Another request took the key over: it runs the change; ours must roll back.
      throw new IdempotencyInProgressError();
    }
    this.written = response;
  }

  committed(): void {
    this.isCommitted = true;
  }

  /** The answer, once the change it belongs to has committed. */
  get committedResponse(): StoredResponse | undefined {
    return this.isCommitted ? this.written : undefined;
  }
}
