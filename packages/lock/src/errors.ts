/** Error codes are part of the public contract: the HTTP layer maps them to problem+json codes. */
export type LockErrorCode =
  | 'LOCK_TIMEOUT'
  | 'LOCK_BACKEND_UNAVAILABLE'
  | 'LOCK_LOST'
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

/** Redis could not be reached (or answered with an error); the guarded work must not run. */
export class LockBackendUnavailableError extends LockError {
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('LOCK_BACKEND_UNAVAILABLE', message, options);
    this.name = 'LockBackendUnavailableError';
    this.retryAfterMs = Math.max(1, Math.ceil(options?.retryAfterMs ?? 1000));
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
