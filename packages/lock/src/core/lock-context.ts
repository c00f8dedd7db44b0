import { AsyncLocalStorage } from 'node:async_hooks';
import type { Lock } from './lock';

/** What a `withLock` / `@Locked` call chain holds; consulted for reentrancy. */
export interface LockFrame {
  /** Key -> the lock that really holds it in Redis (never a reentrant view). */
  readonly held: ReadonlyMap<string, Lock>;
  readonly current: Lock;
}

export const lockStorage = new AsyncLocalStorage<LockFrame>();

/** The innermost lock of the current `withLock` / `@Locked` call, if any. */
export function currentLock(): Lock | undefined {
  return lockStorage.getStore()?.current;
}
