/** Header a client sends to make a state-changing request safe to retry. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Header on a response that was replayed from the store rather than produced again. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** Methods whose handlers honour Idempotency-Key (GET, PUT and DELETE are idempotent already). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['POST', 'PATCH']);

/** How long a stored response is replayed; clients must not reuse a key within this window. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An in-progress claim untouched this long is taken to belong to a process that died before
 * committing its change. Taking over a claim whose owner still runs would be safe (the owner's
 * change then rolls back, see IdempotencyService) but wasteful, so this stays far above the
 * slowest legitimate request (lock wait + statement timeout).
 */
export const IN_PROGRESS_TAKEOVER_MS = 60 * 1000;

export const PURGE_INTERVAL_MS = 10 * 60 * 1000;
/** Small batches keep each purge DELETE short, so it never competes with claims for long. */
export const PURGE_BATCH_SIZE = 500;
export const PURGE_MAX_BATCHES = 20;
