import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * One entry of the error-code registry: everything a client may rely on for a `code`.
 * - `status`: the HTTP status every answer with this code carries (problem() takes it from
 *   here, so the two cannot differ);
 * - `summary`: when a client sees it (OpenAPI example summary, README error table);
 * - `example`: a realistic `detail` and the extension members the answer carries;
 * - `extensions`: the schema of those members (OpenAPI);
 * - `retryAfter`: the answer carries `Retry-After` (seconds);
 * - `anyRequest`: not tied to a route (see below).
 */
export interface ErrorCodeSpec {
  readonly status: number;
  readonly summary: string;
  readonly example: { readonly detail: string } & Readonly<Record<string, unknown>>;
  readonly extensions?: Readonly<Record<string, SchemaObject>>;
  readonly retryAfter?: boolean;
  /**
   * Any request can get it, before or instead of a route (the router, the HTTP parser, a bug):
   * the OpenAPI document lists these once in its description, not under every operation.
   */
  readonly anyRequest?: boolean;
}

const string = (description: string, extra: SchemaObject = {}): SchemaObject => ({
  type: 'string',
  description,
  ...extra,
});
const integer = (description: string): SchemaObject => ({ type: 'integer', description });

/**
 * A resource a code can name: the member that carries its key, with an example value (the
 * same in every example) and the member's schema.
 */
function resource<const M extends string>(member: M, example: string, schema: SchemaObject) {
  return {
    example: { [member]: example } as Record<M, string>,
    extensions: { [member]: schema } as Record<M, SchemaObject>,
  };
}

const COUPON = resource(
  'couponCode',
  'SUMMER10',
  string('The coupon code, as stored (upper case)'),
);
const PRODUCT = resource('sku', 'MUG-BLUE', string('The product SKU'));
const HOLD = resource(
  'holdId',
  '3f0c9e2a-7b1d-4e5f-a6b7-c8d9e0f1a2b3',
  string('The checkout hold', { format: 'uuid' }),
);
const ORDER = resource(
  'orderId',
  '0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90',
  string('The order', { format: 'uuid' }),
);
const REDEMPTION = resource(
  'redemptionId',
  '5d2f7a1c-3b4e-4c6d-8e9f-0a1b2c3d4e5f',
  string('The redemption', { format: 'uuid' }),
);
const COUPON_CODE = COUPON.extensions;
const SKU = PRODUCT.extensions;
const HOLD_ID = HOLD.extensions;

const RFC3339 = (description: string): SchemaObject => string(description, { format: 'date-time' });

/** A moment a code names (when a coupon or a hold expired), as RFC 3339 text. */
const moment = (member: string, example: string, description: string) =>
  resource(member, example, RFC3339(description));

type Member = ReturnType<typeof resource>;

/**
 * A code about one resource: its detail names the resource (and a moment, when there is one),
 * and the answer carries their members.
 */
function about<const N extends number, const S extends string>(
  status: N,
  named: Member,
  summary: S,
  detail: (key: string, at: string) => string,
  when?: Member,
) {
  const [key = ''] = Object.values<string>(named.example);
  const [at = ''] = Object.values<string>(when?.example ?? {});
  return {
    status,
    summary,
    example: { detail: detail(key, at), ...named.example, ...when?.example },
    extensions: { ...named.extensions, ...when?.extensions },
  };
}

/** A code whose answer carries nothing but its detail. */
const plain = <const N extends number, const S extends string, const D extends string>(
  status: N,
  summary: S,
  detail: D,
) => ({ status, summary, example: { detail } }) as const;

/**
 * A code any request can get, before or instead of a route (the router, the HTTP parser, a
 * bug): plain, and listed once in the OpenAPI description instead of under every operation.
 */
const anyRequest = <const N extends number, const S extends string, const D extends string>(
  status: N,
  summary: S,
  detail: D,
) => ({ ...plain(status, summary, detail), anyRequest: true }) as const;

/** A fault (503) that carries nothing but its detail, and Retry-After like every fault. */
const fault = <const S extends string, const D extends string>(summary: S, detail: D) =>
  ({ ...plain(503, summary, detail), retryAfter: true }) as const;

/**
 * Every `code` the service answers with, and its HTTP status. The single source of truth:
 * DomainError and problem() take the status from here, the OpenAPI document's error responses
 * and examples are generated from it (common/http/openapi-problems.ts), and so is the README's
 * error table (a unit test keeps it in step).
 */
export const ERROR_CODES = {
  // 400
  VALIDATION_FAILED: {
    status: 400,
    summary: 'A field of the body, query or path is missing, of the wrong type or out of range',
    example: {
      detail: 'quantity: quantity must not be less than 1',
      errors: [{ field: 'quantity', messages: ['quantity must not be less than 1'] }],
    },
    extensions: {
      errors: {
        type: 'array',
        description: 'Every invalid field (dotted path for nested fields) with its messages',
        items: {
          type: 'object',
          required: ['field', 'messages'],
          properties: {
            field: string('Field path, e.g. `items.0.quantity`'),
            messages: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  },
  INVALID_CURSOR: plain(
    400,
    'The `cursor` query parameter is not a `nextCursor` this API returned',
    'cursor is not a value this API returned as nextCursor.',
  ),
  MALFORMED_JSON: plain(
    400,
    'The body sent as application/json does not parse',
    `The request body is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
  ),
  INVALID_IDEMPOTENCY_KEY: plain(
    400,
    'The Idempotency-Key header is not 1 to 255 visible ASCII characters',
    'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces).',
  ),
  BAD_REQUEST: anyRequest(
    400,
    'The framework refused the request (e.g. a Content-Length that does not match)',
    'Request body size did not match Content-Length',
  ),
  MALFORMED_URL: anyRequest(
    400,
    'The URL is not valid percent-encoding',
    "'/v1/coupons/%E0%A4%A' is not a valid url component",
  ),
  MALFORMED_REQUEST: anyRequest(
    400,
    'The request is not valid HTTP/1.1 (answered before any route)',
    'The request is not valid HTTP/1.1.',
  ),
  // 401, 403
  UNAUTHENTICATED: plain(
    401,
    'No `x-api-key` header, or a key that is not configured',
    'The API key in the x-api-key header is not valid.',
  ),
  FORBIDDEN: plain(
    403,
    'A storefront key on an admin route',
    'This operation requires an admin API key.',
  ),
  // 404
  COUPON_NOT_FOUND: about(
    404,
    COUPON,
    'No coupon has this code',
    (id) => `Coupon ${id} does not exist.`,
  ),
  PRODUCT_NOT_FOUND: about(
    404,
    PRODUCT,
    'No product has this SKU',
    (id) => `Product ${id} does not exist.`,
  ),
  ORDER_NOT_FOUND: about(404, ORDER, 'No order has this id', (id) => `Order ${id} does not exist.`),
  REDEMPTION_NOT_FOUND: about(
    404,
    REDEMPTION,
    'No redemption has this id',
    (id) => `Redemption ${id} does not exist.`,
  ),
  HOLD_NOT_FOUND: about(
    404,
    HOLD,
    'No checkout hold has this id',
    (id) => `Checkout hold ${id} does not exist.`,
  ),
  NOT_FOUND: anyRequest(404, 'No route has this path', 'Cannot GET /v1/coupon/SUMMER10'),
  // 405 to 408
  METHOD_NOT_ALLOWED: anyRequest(
    405,
    'The path exists, but not for this method (see the `Allow` header)',
    'DELETE is not supported here; this path supports GET, PATCH.',
  ),
  NOT_ACCEPTABLE: anyRequest(406, 'No representation matches the Accept header', 'Not Acceptable'),
  REQUEST_TIMEOUT: anyRequest(
    408,
    'The request did not arrive completely within the server request timeout',
    'The request did not arrive completely in time.',
  ),
  // 409
  COUPON_CODE_TAKEN: about(
    409,
    COUPON,
    'A coupon with this code exists already',
    (id) => `A coupon with code ${id} already exists.`,
  ),
  SKU_TAKEN: about(
    409,
    PRODUCT,
    'A product with this SKU exists already',
    (id) => `A product with SKU ${id} already exists.`,
  ),
  COUPON_EXHAUSTED: about(
    409,
    COUPON,
    'The coupon has no redemptions left (maxRedemptions reached)',
    (id) => `Coupon ${id} has no redemptions left.`,
  ),
  CUSTOMER_LIMIT_REACHED: {
    status: 409,
    summary: 'This customer has used the coupon as often as perCustomerLimit allows',
    example: {
      detail: 'Customer cust-42 has used coupon SUMMER10 as often as allowed.',
      couponCode: 'SUMMER10',
      customerId: 'cust-42',
    },
    extensions: { ...COUPON_CODE, customerId: string('The customer') },
  },
  ALREADY_REDEEMED: {
    status: 409,
    summary: 'The coupon is already applied to this order',
    example: {
      detail:
        'Coupon SUMMER10 is already applied to order order-1001 (redemption 5d2f7a1c-3b4e-4c6d-8e9f-0a1b2c3d4e5f).',
      couponCode: 'SUMMER10',
      orderId: 'order-1001',
      redemptionId: '5d2f7a1c-3b4e-4c6d-8e9f-0a1b2c3d4e5f',
    },
    extensions: {
      ...COUPON_CODE,
      orderId: string("The client's order reference"),
      redemptionId: string('The active redemption that holds the coupon for the order', {
        format: 'uuid',
        nullable: true,
      }),
    },
  },
  LIMIT_BELOW_USAGE: {
    status: 409,
    summary: 'maxRedemptions would fall below the redemptions already made',
    example: {
      detail: 'Coupon SUMMER10 has 12 active redemptions; maxRedemptions cannot be 10.',
      couponCode: 'SUMMER10',
      maxRedemptions: 10,
      redeemedCount: 12,
    },
    extensions: {
      ...COUPON_CODE,
      maxRedemptions: integer('The limit asked for'),
      redeemedCount: integer('Active redemptions now'),
    },
  },
  REDEMPTION_HELD_BY_ORDER: {
    status: 409,
    summary: 'The redemption belongs to a placed order: cancel the order instead',
    example: {
      detail:
        'Redemption 5d2f7a1c-3b4e-4c6d-8e9f-0a1b2c3d4e5f belongs to order 0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90, which is placed; cancel the order to release it.',
      redemptionId: '5d2f7a1c-3b4e-4c6d-8e9f-0a1b2c3d4e5f',
      orderId: '0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90',
    },
    extensions: {
      redemptionId: string('The redemption', { format: 'uuid' }),
      orderId: string('The order that holds it', { format: 'uuid' }),
    },
  },
  INSUFFICIENT_STOCK: {
    status: 409,
    summary: 'Too little stock available (stock less held) for a line',
    example: {
      detail: 'Only 2 of MUG-BLUE in stock; 3 requested.',
      sku: 'MUG-BLUE',
      available: 2,
      requested: 3,
    },
    extensions: {
      ...SKU,
      available: integer('Units available now (stock less units held by checkouts)'),
      requested: integer('Units the request asked for'),
    },
  },
  BATCH_CODES_EXHAUSTED: {
    status: 409,
    summary: 'A batch found no unused codes for its prefix within its rounds; nothing was created',
    example: {
      detail:
        'Could not find 10000 unused codes with prefix SUMMER- in 8 rounds; nothing was created.',
      prefix: 'SUMMER-',
      count: 10000,
    },
    extensions: {
      prefix: string('The code prefix of the batch, upper-cased'),
      count: integer('Coupons the batch asked for'),
    },
  },
  HOLD_CANCELLED: about(
    409,
    HOLD,
    'The checkout hold was cancelled',
    (id) => `Checkout hold ${id} was cancelled.`,
  ),
  HOLD_CONFIRMED: {
    status: 409,
    summary: 'The checkout hold was confirmed: cancel its order instead',
    example: {
      detail:
        'Checkout hold 3f0c9e2a-7b1d-4e5f-a6b7-c8d9e0f1a2b3 was confirmed as order 0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90; cancel the order instead.',
      holdId: '3f0c9e2a-7b1d-4e5f-a6b7-c8d9e0f1a2b3',
      orderId: '0b9c3f0e-6f1a-4d8e-9a53-2f4c1d7e8a90',
    },
    extensions: {
      ...HOLD_ID,
      orderId: string('The order the hold became', { format: 'uuid', nullable: true }),
    },
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    summary: 'The first request with this Idempotency-Key is still running',
    example: {
      detail: 'A request with this Idempotency-Key is still being processed; retry shortly.',
    },
    retryAfter: true,
  },
  DEMO_STORM_RUNNING: plain(
    409,
    'A storm is already running on this instance (demo page)',
    'A storm is already running on this instance.',
  ),
  // 410
  COUPON_EXPIRED: about(
    410,
    COUPON,
    'The coupon is past its expiresAt (database clock)',
    (code, at) => `Coupon ${code} expired at ${at}.`,
    moment('expiresAt', '2026-09-01T00:00:00.000Z', 'When the coupon expired'),
  ),
  HOLD_EXPIRED: about(
    410,
    HOLD,
    'The checkout hold is past its expiresAt (database clock), swept or not',
    (id, at) => `Checkout hold ${id} expired at ${at}.`,
    moment('expiresAt', '2026-11-30T14:41:56.345Z', 'When the hold expired'),
  ),
  // 413 to 415
  PAYLOAD_TOO_LARGE: plain(
    413,
    'The body is larger than the body limit',
    'Request body is too large',
  ),
  URI_TOO_LONG: plain(
    414,
    'A path parameter is longer than the router accepts',
    'maxParamLength limit exceeded',
  ),
  UNSUPPORTED_MEDIA_TYPE: plain(
    415,
    'A body that is not application/json',
    'Unsupported Media Type: text/plain',
  ),
  // 422
  COUPON_NOT_STARTED: about(
    422,
    COUPON,
    'The coupon is not valid yet (before startsAt, database clock)',
    (code, at) => `Coupon ${code} is valid from ${at}.`,
    moment('startsAt', '2026-06-01T00:00:00.000Z', 'When the coupon becomes valid'),
  ),
  COUPON_INACTIVE: about(
    422,
    COUPON,
    'The coupon was switched off (active: false)',
    (id) => `Coupon ${id} is not active.`,
  ),
  MIN_ORDER_NOT_MET: {
    status: 422,
    summary: "The order amount is below the coupon's minOrderAmount",
    example: {
      detail: 'Coupon SUMMER10 needs an order amount of at least 5000; got 3000.',
      couponCode: 'SUMMER10',
      minOrderAmount: 5000,
      orderAmount: 3000,
    },
    extensions: {
      ...COUPON_CODE,
      minOrderAmount: integer('Minimum order amount, minor units'),
      orderAmount: integer('The order amount sent, minor units'),
    },
  },
  STOCK_LIMIT_EXCEEDED: {
    status: 422,
    summary: 'Restocking would take the stock above the largest stock a product may have',
    example: {
      detail: 'Restocking would take MUG-BLUE above 1000000000.',
      sku: 'MUG-BLUE',
      limit: 1000000000,
    },
    extensions: { ...SKU, limit: integer('The largest stock a product may have, units') },
  },
  IDEMPOTENCY_KEY_REUSED: plain(
    422,
    'The Idempotency-Key was used before with another body, route or method',
    'This Idempotency-Key was already used with a different request; use a new key.',
  ),
  // 429, 431
  RATE_LIMITED: {
    status: 429,
    summary: 'A rate limit (per API key, or per customerId) is used up; nothing was done',
    example: {
      detail:
        'Too many requests for this customer; nothing was done. Retry after the time in Retry-After.',
      limit: 'customer',
    },
    extensions: {
      limit: string('Which budget ran out: all requests of the API key, or one customerId', {
        enum: ['apiKey', 'customer'],
      }),
    },
    retryAfter: true,
  },
  TOO_MANY_REQUESTS: anyRequest(
    429,
    'The framework refused the request as too many (not used by the rate limits)',
    'ThrottlerException: Too Many Requests',
  ),
  HEADERS_TOO_LARGE: anyRequest(
    431,
    'The request headers are too large (answered before any route)',
    'The request headers are too large.',
  ),
  // 500
  INTERNAL_ERROR: anyRequest(
    500,
    'A bug: logged with its stack, never shown',
    'An unexpected error occurred.',
  ),
  // 503: faults. Every one carries Retry-After; the detail says whether anything changed.
  DATABASE_UNAVAILABLE: fault(
    'PostgreSQL is unreachable, shutting down, out of connections or read-only',
    'The database is unavailable; the request was not applied. Retry shortly.',
  ),
  DATABASE_TIMEOUT: fault(
    'A statement ran into DATABASE_STATEMENT_TIMEOUT_MS and was cancelled',
    'The database did not finish in time; the request was not applied. Retry shortly.',
  ),
  CONTENTION: fault(
    'The transaction lost a conflict inside PostgreSQL (deadlock, serialization)',
    'The request collided with concurrent changes and was not applied. Retry shortly.',
  ),
  COMMIT_OUTCOME_UNKNOWN: fault(
    'The connection dropped while committing: retry with the same Idempotency-Key',
    'The connection to the database was lost while the change was being committed, so it may or may not have been applied. Retrying with the same Idempotency-Key is safe: it returns the stored answer if the change was applied, and applies it once if not. Without a key, read the resource before retrying.',
  ),
  LOCK_TIMEOUT: fault(
    'The resource stayed locked by others for LOCK_WAIT_MS',
    'The resource is busy; the request was not applied. Retry shortly.',
  ),
  LOCK_BACKEND_UNAVAILABLE: fault(
    'The lock backend is unreachable or its answer unknown',
    'The lock service is unreachable; the request was not applied. Retry shortly.',
  ),
  LOCK_LOST: fault(
    'The lease ran out before the change could be committed',
    'The lock was lost before the change could be committed; nothing was changed. Retry.',
  ),
  STALE_FENCE: {
    status: 503,
    summary: "PostgreSQL refused a write whose lock's fencing token was overtaken",
    example: {
      detail:
        'The lock on coupon:SUMMER10 was taken over by a newer holder before this change could be written; nothing was changed. Retry the request.',
      resource: 'coupon:SUMMER10',
    },
    extensions: { resource: string('The lock key whose fencing token was overtaken') },
    retryAfter: true,
  },
  SHUTTING_DOWN: fault(
    'This instance is draining; another instance will answer',
    'This instance is shutting down; the request was not applied. Retry it (another instance will answer).',
  ),
  IDEMPOTENCY_STORE_UNAVAILABLE: fault(
    'Idempotency keys cannot be checked; the request was refused, not run',
    'Idempotency keys cannot be checked right now; retry shortly with the same key.',
  ),
  NOT_READY: {
    status: 503,
    summary: 'Readiness: PostgreSQL or the lock backend does not answer',
    example: {
      detail: 'Not ready: redis does not answer.',
      info: { postgres: { status: 'up' } },
      error: { redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' } },
      details: {
        postgres: { status: 'up' },
        redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' },
      },
    },
    extensions: {
      info: { type: 'object', description: 'The dependencies that answer (Terminus report)' },
      error: { type: 'object', description: 'The dependencies that do not answer' },
      details: { type: 'object', description: 'Every dependency' },
    },
    retryAfter: true,
  },
  DEMO_UNAVAILABLE: fault(
    'The storm runner cannot start on this instance (demo page)',
    'The storm runner cannot start here: /app/load/live.ts is missing',
  ),
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes answered with this status. */
export type ErrorCodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never;
}[ErrorCode];

/** The faults (503 with Retry-After) a RetryableError may carry. */
export type RetryableCode = ErrorCodeWithStatus<503>;

/** The registry entry of a code, as the common shape (ERROR_CODES keeps the literal types). */
export function specOf(code: ErrorCode): ErrorCodeSpec {
  return ERROR_CODES[code];
}

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
