import { HttpException } from '@nestjs/common';
import {
  LockBackendUnavailableError,
  LockLostError,
  LockShuttingDownError,
  LockTimeoutError,
} from '@couponlock/lock';
import { databaseErrorFor } from '../../database/database-faults';
import { DomainError, RetryableError } from '../errors/domain-error';
import { ERROR_CODES, type ErrorCode } from '../errors/error-codes';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import { problem, type Problem } from './problem';

/**
 * Codes for errors raised by the framework (routing, body parsing) rather than our services,
 * by the status the framework chose. Each code's registry status is that status (unit-tested);
 * a status missing here is answered as 400 BAD_REQUEST.
 */
export const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE',
};

/** Fastify's own error codes that deserve a more precise machine-readable code. */
export const CODE_BY_FASTIFY_CODE: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'MALFORMED_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

export interface MappedError {
  problem: Problem;
  headers: Record<string, string>;
  /** True when the fault is ours: these are logged with their stack, never shown to clients. */
  unexpected: boolean;
}

type LockFailureCode = 'LOCK_TIMEOUT' | 'LOCK_BACKEND_UNAVAILABLE' | 'LOCK_LOST';

export function errorToProblem(error: unknown): MappedError {
  if (error instanceof LockShuttingDownError) {
    const detail = 'The service is shutting down; the request was not applied. Retry shortly.';
    return {
      problem: problem('SHUTTING_DOWN', detail),
      headers: retryAfter(error.retryAfterMs),
      unexpected: false,
    };
  }
  // Lock failures are failing closed: the work was not done, and a retry is safe.
  if (
    error instanceof LockTimeoutError ||
    error instanceof LockBackendUnavailableError ||
    error instanceof LockLostError
  ) {
    return {
      // The registry's wording: the same for every lock failure of a kind, whatever the key.
      problem: problem(lockCode(error), ERROR_CODES[lockCode(error)].example.detail),
      headers: retryAfter(error instanceof LockLostError ? 1000 : error.retryAfterMs),
      unexpected: false,
    };
  }
  // A database fault (PostgreSQL down, a statement timeout, a lost commit) is a 503 the client
  // can act on, whichever layer it surfaced in.
  const known = error instanceof DomainError ? error : databaseErrorFor(error);
  if (known) {
    const status = known.status;
    return {
      problem: problem(known.code, known.message, { ...known.details }),
      // Every 503 says when to come back; its message says whether anything changed.
      headers:
        status === 503 || known instanceof RateLimitedError
          ? retryAfter(
              known instanceof RetryableError || known instanceof RateLimitedError
                ? known.retryAfterMs
                : 1000,
            )
          : {},
      unexpected: false,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status < 500) {
      return expected(problem(CODE_BY_STATUS[status] ?? 'BAD_REQUEST', httpDetail(error)));
    }
  }
  const fastifyStatus = clientStatusOf(error);
  if (fastifyStatus !== undefined) {
    const fastifyCode = (error as { code?: unknown }).code;
    const code =
      (typeof fastifyCode === 'string' ? CODE_BY_FASTIFY_CODE[fastifyCode] : undefined) ??
      CODE_BY_STATUS[fastifyStatus] ??
      'BAD_REQUEST';
    return expected(problem(code, (error as Error).message));
  }
  return {
    problem: problem('INTERNAL_ERROR', 'An unexpected error occurred.'),
    headers: {},
    unexpected: true,
  };
}

function lockCode(
  error: LockTimeoutError | LockBackendUnavailableError | LockLostError,
): LockFailureCode {
  if (error instanceof LockTimeoutError) return 'LOCK_TIMEOUT';
  return error instanceof LockLostError ? 'LOCK_LOST' : 'LOCK_BACKEND_UNAVAILABLE';
}

function retryAfter(ms: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
}

function expected(p: Problem): MappedError {
  return { problem: p, headers: {}, unexpected: false };
}

function httpDetail(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return error.message;
}

/** Fastify marks client errors (bad JSON, body too large, ...) with a 4xx `statusCode`. */
function clientStatusOf(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
