import { Injectable } from '@nestjs/common';
import { Locked } from '@couponlock/lock';
import { ApiProblems, LOCK_FAULTS, problemCodesOf } from '../common/http/api-problems.decorator';
import { problemCodesFor } from './problem-responses';

@Injectable()
class StockService {
  @Locked((sku: string) => `sku:${sku}`)
  take(sku: string): Promise<string> {
    return Promise.resolve(sku);
  }

  peek(sku: string): Promise<string> {
    return Promise.resolve(sku);
  }
}

const route = { declared: [], isPublic: false, adminOnly: false };

describe('ApiProblems', () => {
  it('adds up codes from several decorators, in any order', () => {
    class Controller {
      @ApiProblems(['PRODUCT_NOT_FOUND'])
      @ApiProblems(['INSUFFICIENT_STOCK', 'PRODUCT_NOT_FOUND'])
      take(): void {}
    }
    expect(problemCodesOf(Controller.prototype.take)).toEqual([
      'INSUFFICIENT_STOCK',
      'PRODUCT_NOT_FOUND',
    ]);
  });

  it('documents the lock faults for a @Locked method, and refuses a method that is not', () => {
    class Controller {
      @ApiProblems(['PRODUCT_NOT_FOUND'], { locks: [[StockService, 'take']] })
      take(): void {}
    }
    expect(problemCodesOf(Controller.prototype.take)).toEqual([
      'PRODUCT_NOT_FOUND',
      ...LOCK_FAULTS,
    ]);
    expect(() => ApiProblems([], { locks: [[StockService, 'peek']] })).toThrow(
      'StockService.peek is not a @Locked method',
    );
    expect(() => ApiProblems([], { locks: [[StockService, 'renamed']] })).toThrow(
      'StockService.renamed is not a @Locked method',
    );
  });
});

describe('problemCodesFor', () => {
  it('adds what a route behind a key implies', () => {
    expect(problemCodesFor(route, 'get', {}).sort()).toEqual(
      [
        'UNAUTHENTICATED',
        'RATE_LIMITED',
        'DATABASE_UNAVAILABLE',
        'DATABASE_TIMEOUT',
        'SHUTTING_DOWN',
      ].sort(),
    );
  });

  it('adds 400 and 414 for path parameters, and the body and Idempotency-Key codes on POST', () => {
    const codes = problemCodesFor({ ...route, adminOnly: true }, 'post', {
      parameters: [{ name: 'sku', in: 'path' }],
      requestBody: { content: {} },
    });
    expect(codes).toEqual(
      expect.arrayContaining([
        'VALIDATION_FAILED',
        'URI_TOO_LONG',
        'FORBIDDEN',
        'MALFORMED_JSON',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'INVALID_IDEMPOTENCY_KEY',
        'IDEMPOTENCY_IN_PROGRESS',
        'IDEMPOTENCY_KEY_REUSED',
        'IDEMPOTENCY_STORE_UNAVAILABLE',
      ]),
    );
  });

  it('gives a public probe only its own codes and SHUTTING_DOWN', () => {
    expect(
      problemCodesFor({ ...route, isPublic: true, declared: ['NOT_READY'] }, 'get', {}),
    ).toEqual(['NOT_READY', 'SHUTTING_DOWN']);
  });
});
