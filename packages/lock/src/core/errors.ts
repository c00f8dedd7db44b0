/**
 * Error codes are part of the public contract: an HTTP layer maps them to problem+json codes.
 * `LOCK_RELEASED`: `extend()` on a released lock. `LOCK_MISCONFIGURED`: `@Locked` on an object
 * Nest did not create.
 */
export type LockErrorCode =
  | 'LOCK_TIMEOUT'
  | 'LOCK_BACKEND_UNAVAILABLE'
  | 'LOCK_LOST'
  | 'LOCK_SHUTTING_DOWN'
  | 'LOCK_RELEASED'
  | 'LOCK_MISCONFIGURED';

export class LockError extends Error {
  readonly code: LockErrorCode;

  constructor(code: LockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockError';
    this.code = code;
  }
}

/** `waitMs` passed before every requested key could be taken; nothing is left held. */
export class LockTimeoutError extends LockError {
  readonly keys: readonly string[];
  /** How long a caller should wait before trying again (best guess: the blocking holder's PTTL). */
  readonly retryAfterMs: number;

  constructor(keys: readonly string[], waitedMs: number, retryAfterMs: number) {
    super(
      'LOCK_TIMEOUT',
      `could not acquire lock on ${keys.join(', ')} within ${Math.round(waitedMs)} ms`,
    );
    this.name = 'LockTimeoutError';
    this.keys = keys;
    this.retryAfterMs = Math.max(1, Math.ceil(retryAfterMs));
  }
}

/**
 * The lock server cannot be reached or its answer is unknown; the guarded work must not run.
 * Thrown at once to every queued waiter when the connection is lost, and to every new acquire
 * while the circuit breaker is open.
 */
export class LockBackendUnavailableError extends LockError {
  /** Time until the breaker's next probe of the server, in ms; never below 1000. */
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('LOCK_BACKEND_UNAVAILABLE', message, options);
    this.name = 'LockBackendUnavailableError';
    this.retryAfterMs = Math.max(1000, Math.ceil(options?.retryAfterMs ?? 1000));
  }
}

/**
 * The service is shutting down (`LockService.shutdown()`/`close()`): pending and new
 * acquires are refused. Reentrant acquires of keys the caller already holds still succeed.
 */
export class LockShuttingDownError extends LockError {
  /** How long a client should wait before retrying (elsewhere), in ms. */
  readonly retryAfterMs: number;

  constructor(message = 'lock service is shutting down', retryAfterMs = 1000) {
    super('LOCK_SHUTTING_DOWN', message);
    this.name = 'LockShuttingDownError';
    this.retryAfterMs = Math.max(1, Math.ceil(retryAfterMs));
  }
}

/**
 * The lease may have expired (or provably belongs to someone else). Work started under the lock
 * must stop; writes must carry the fence so the store can refuse them if they are stale.
 */
export class LockLostError extends LockError {
  readonly keys: readonly string[];

  constructor(keys: readonly string[], message: string, options?: { cause?: unknown }) {
    super('LOCK_LOST', message, options);
    this.name = 'LockLostError';
    this.keys = keys;
  }
}

/** The message of an error, or the thrown value as text (for log lines and error details). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
