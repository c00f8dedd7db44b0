import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  NotFoundException,
} from '@nestjs/common';
import {
  LockBackendUnavailableError,
  LockLostError,
  LockShuttingDownError,
  LockTimeoutError,
} from '@couponlock/lock';
import { errorCodes as fastifyErrorCodes } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { ForbiddenError, UnauthenticatedError } from '../../auth/auth.errors';
import {
  HoldCancelledError,
  HoldConfirmedError,
  HoldExpiredError,
  HoldNotFoundError,
} from '../../checkouts/checkouts.errors';
import * as coupons from '../../coupons/coupons.errors';
import {
  CommitOutcomeUnknownError,
  DatabaseContentionError,
  DatabaseTimeoutError,
  DatabaseUnavailableError,
} from '../../database/database-faults';
import { DemoStormRunningError, DemoUnavailableError } from '../../demo/demo.errors';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyStoreUnavailableError,
  InvalidIdempotencyKeyError,
} from '../../idempotency/idempotency.errors';
import {
  InsufficientStockError,
  ProductNotFoundError,
  SkuTakenError,
  StockLimitExceededError,
} from '../../inventory/inventory.errors';
import { OrderNotFoundError } from '../../orders/orders.errors';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import { CODE_BY_FASTIFY_CODE, CODE_BY_STATUS, errorToProblem } from '../http/error-to-problem';
import { MalformedJsonError } from '../http/json-body-parser';
import { TITLES } from '../http/problem';
import { type DomainError, InvalidCursorError, RequestValidationError } from './domain-error';
import { ERROR_CODES, type ErrorCode, type ErrorCodeSpec, isErrorCode } from './error-codes';
import { errorCodeTable, TABLE_END, TABLE_START } from './error-table';
import { StaleFenceError } from './stale-fence';

const REGISTRY = ERROR_CODES as Record<ErrorCode, ErrorCodeSpec>;
const at = new Date('2026-09-01T00:00:00.000Z');

/** One instance of every error class a service throws on purpose. */
const DOMAIN_ERRORS: DomainError[] = [
  new RequestValidationError([{ field: 'quantity', messages: ['must be positive'] }]),
  new InvalidCursorError(),
  new MalformedJsonError('Unexpected end of JSON input'),
  new UnauthenticatedError('missing'),
  new ForbiddenError(),
  new coupons.CouponNotFoundError('C'),
  new coupons.CouponCodeTakenError('C'),
  new coupons.CouponExhaustedError('C'),
  new coupons.CustomerLimitReachedError('C', 'cust'),
  new coupons.AlreadyRedeemedError('C', 'order', 'r'),
  new coupons.CouponExpiredError('C', at),
  new coupons.CouponNotStartedError('C', at),
  new coupons.CouponInactiveError('C'),
  new coupons.MinOrderNotMetError('C', 10, 5),
  new coupons.LimitBelowUsageError('C', 1, 2),
  new coupons.RedemptionNotFoundError('r'),
  new coupons.RedemptionHeldByOrderError('r', 'o'),
  new coupons.BatchCodesExhaustedError('P-', 10, 8),
  new ProductNotFoundError('S'),
  new SkuTakenError('S'),
  new InsufficientStockError('S', 1, 2),
  new StockLimitExceededError('S', 10),
  new OrderNotFoundError('o'),
  new HoldNotFoundError('h'),
  new HoldExpiredError('h', at),
  new HoldCancelledError('h'),
  new HoldConfirmedError('h', 'o'),
  new InvalidIdempotencyKeyError(),
  new IdempotencyKeyReusedError(),
  new IdempotencyInProgressError(),
  new IdempotencyStoreUnavailableError(),
  new RateLimitedError('customer', 1500),
  new DatabaseUnavailableError(),
  new DatabaseTimeoutError(),
  new DatabaseContentionError(),
  new CommitOutcomeUnknownError(),
  new StaleFenceError('coupon:C'),
  new DemoStormRunningError(),
  new DemoUnavailableError('missing'),
];

/** Errors raised outside our services that the filter turns into problems. */
const FOREIGN_ERRORS: unknown[] = [
  new LockTimeoutError(['coupon:C'], 2000, 300),
  new LockBackendUnavailableError('down'),
  new LockLostError(['coupon:C'], 'lost'),
  new LockShuttingDownError(),
  new QueryFailedError('SELECT 1', [], Object.assign(new Error('timeout'), { code: '57014' })),
  new NotFoundException('Cannot GET /nowhere'),
  new ForbiddenException(),
  new BadRequestException('bad'),
  new HttpException('I am a teapot', 418),
  new Error('a bug'),
  ...Object.values(fastifyErrorCodes).map((FastifyError) => new FastifyError('a', 'b', 'c')),
];

/** A Markdown table as rows of trimmed cells, separator rows as dashes. */
function cells(table: string): string[][] {
  return table.split('\n').map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => (/^\s*-+\s*$/.test(cell) ? '---' : cell.trim())),
  );
}

describe('error-code registry', () => {
  it('gives every status a title, and 4xx/5xx only', () => {
    for (const [code, spec] of Object.entries(REGISTRY)) {
      expect({ code, title: TITLES[spec.status] }).toEqual({ code, title: expect.any(String) });
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      // Every 503 tells the client when to come back.
      if (spec.status === 503)
        expect({ code, retryAfter: spec.retryAfter }).toEqual({ code, retryAfter: true });
    }
  });

  it('documents exactly the extension members of each example', () => {
    for (const [code, spec] of Object.entries(REGISTRY)) {
      const { detail, ...members } = spec.example;
      expect(detail.length).toBeGreaterThan(0);
      expect({ code, members: Object.keys(members).sort() }).toEqual({
        code,
        members: Object.keys(spec.extensions ?? {}).sort(),
      });
    }
  });

  it('covers every code the filter can emit, with the registry status and members', () => {
    const emitted = new Set<string>();
    for (const error of DOMAIN_ERRORS) {
      const { problem, headers } = errorToProblem(error);
      emitted.add(problem.code);
      const spec = REGISTRY[problem.code as ErrorCode];
      expect({ code: problem.code, known: isErrorCode(problem.code) }).toEqual({
        code: problem.code,
        known: true,
      });
      expect({ code: problem.code, status: problem.status }).toEqual({
        code: problem.code,
        status: spec.status,
      });
      // The members the answer carries are the ones the registry documents.
      expect({ code: problem.code, members: Object.keys(error.details).sort() }).toEqual({
        code: problem.code,
        members: Object.keys(spec.extensions ?? {}).sort(),
      });
      // IdempotencyInterceptor adds Retry-After to IDEMPOTENCY_IN_PROGRESS itself.
      const retryAfter = 'retry-after' in headers || problem.code === 'IDEMPOTENCY_IN_PROGRESS';
      expect({ code: problem.code, retryAfter }).toEqual({
        code: problem.code,
        retryAfter: spec.retryAfter === true,
      });
    }
    for (const error of FOREIGN_ERRORS) {
      const { problem } = errorToProblem(error);
      emitted.add(problem.code);
      expect(isErrorCode(problem.code)).toBe(true);
      expect({ code: problem.code, status: problem.status }).toEqual({
        code: problem.code,
        status: REGISTRY[problem.code as ErrorCode].status,
      });
    }
    expect([...emitted]).toEqual(
      expect.arrayContaining(['LOCK_TIMEOUT', 'SHUTTING_DOWN', 'MALFORMED_URL', 'INTERNAL_ERROR']),
    );
  });

  it("keeps Fastify's and Nest's status where the filter maps them by status", () => {
    for (const [status, code] of Object.entries(CODE_BY_STATUS)) {
      expect({ code, status: REGISTRY[code].status }).toEqual({ code, status: Number(status) });
    }
    for (const [fastifyCode, code] of Object.entries(CODE_BY_FASTIFY_CODE)) {
      const FastifyError = fastifyErrorCodes[fastifyCode as keyof typeof fastifyErrorCodes];
      const status = new FastifyError('a', 'b', 'c').statusCode;
      expect({ fastifyCode, status: REGISTRY[code].status }).toEqual({ fastifyCode, status });
    }
    // Every client error Fastify raises keeps its status (no 4xx is turned into another).
    for (const FastifyError of Object.values(fastifyErrorCodes)) {
      const error = new FastifyError('a', 'b', 'c');
      if (error.statusCode === undefined || error.statusCode >= 500) continue;
      expect({ code: error.code, status: errorToProblem(error).problem.status }).toEqual({
        code: error.code,
        status: error.statusCode,
      });
    }
  });

  it('is what the README says', () => {
    const file = join(__dirname, '..', '..', '..', 'README.md');
    const readme = readFileSync(file, 'utf8');
    const start = readme.indexOf(TABLE_START) + TABLE_START.length;
    const table = readme.slice(start, readme.indexOf(TABLE_END)).trim();
    // Compared cell by cell: prettier pads the cells when the script writes the table.
    expect(cells(table)).toEqual(cells(errorCodeTable()));
    // Elsewhere in the README, "503 `CODE`" or "409 CODE" names a code with its status.
    for (const [, status, code] of readme.matchAll(/\b([45]\d\d),? `?([A-Z][A-Z_]{3,})\b/g)) {
      expect({ code, known: isErrorCode(code) }).toEqual({ code, known: true });
      expect({ code, status: REGISTRY[code as ErrorCode].status }).toEqual({
        code,
        status: Number(status),
      });
    }
  });
});
