/**
 * Where the lock writes its few log lines (a lost lock, backend errors, throttled). Nest's
 * `Logger` and `console` both fit.
 */
export interface LockLogger {
  log(message: string): void;
  warn(message: string): void;
}
