import type { EntityManager } from 'typeorm';
import type { Claim } from './idempotency-key.repository';
import { IdempotencyInProgressError } from './idempotency.errors';
import type { IdempotencyService } from './idempotency.service';
import { StoredAnswer } from './stored-answer';

const CLAIM: Claim = { scope: 'key-id', key: 'k', token: '2025-01-01 00:00:00.1+00' };
const MANAGER = { tag: 'transaction' } as unknown as EntityManager;

function fakeService(stored = true) {
  return { completeWith: jest.fn().mockResolvedValue(stored) };
}

describe('StoredAnswer', () => {
  const present = (result: { id: string; secret: string }) => ({ id: result.id });

  it('writes the presented result with the route status in the transaction, once', async () => {
    const service = fakeService();
    const answer = new StoredAnswer(service as unknown as IdempotencyService, CLAIM, 201, present);
    await answer.beforeCommit(MANAGER, { id: 'o-1', secret: 'not for clients' });
    expect(service.completeWith).toHaveBeenCalledWith(MANAGER, CLAIM, {
      status: 201,
      body: { id: 'o-1' },
    });
    // Not committed yet: nothing may be taken for granted.
    expect(answer.committedResponse).toBeUndefined();
    answer.committed();
    expect(answer.committedResponse).toEqual({ status: 201, body: { id: 'o-1' } });
  });

  it('rolls the change back when the claim was taken over (IDEMPOTENCY_IN_PROGRESS)', async () => {
    const answer = new StoredAnswer(
      fakeService(false) as unknown as IdempotencyService,
      CLAIM,
      200,
      present,
    );
    await expect(answer.beforeCommit(MANAGER, { id: 'o-1', secret: '' })).rejects.toBeInstanceOf(
      IdempotencyInProgressError,
    );
    answer.committed();
    expect(answer.committedResponse).toBeUndefined();
  });

  it('refuses a second change under the same request: it would commit without an answer', async () => {
    const answer = new StoredAnswer(
      fakeService() as unknown as IdempotencyService,
      CLAIM,
      201,
      present,
    );
    await answer.beforeCommit(MANAGER, { id: 'o-1', secret: '' });
    await expect(answer.beforeCommit(MANAGER, { id: 'o-2', secret: '' })).rejects.toThrow(
      'a request with an Idempotency-Key may commit one change only',
    );
  });
});
