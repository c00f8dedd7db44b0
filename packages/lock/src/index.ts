export { LockModule, type LockModuleAsyncOptions } from './lock.module';
export {
  LockService,
  type AcquireOptions,
  type LockedFn,
  type LockServiceState,
} from './lock.service';
export type { Lock } from './lock';
export { Locked, type LockedKeyFn, type LockedOptions } from './locked.decorator';
export { currentLock } from './lock-context';
export {
  LockError,
  LockTimeoutError,
  LockBackendUnavailableError,
  LockLostError,
  type LockErrorCode,
} from './errors';
export { compareFences, isNewerFence, maxFence, isFence } from './fence';
export { normalizeKeys, keyFamily, familyLabel, type KeyInput } from './keys';
export {
  LOCK_MODULE_OPTIONS,
  type LockModuleOptions,
  type LockRedisOptions,
  type LockMode,
} from './lock.options';
