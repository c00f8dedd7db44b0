// The public API of @couponlock/lock. Prometheus metrics: '@couponlock/lock/prometheus'.

// Core (no framework)
export {
  LockService,
  type AcquireOptions,
  type LockedFn,
  type LockHealth,
  type LockServiceState,
} from './core/lock-service';
export type { Lock } from './core/lock';
export { currentLock } from './core/lock-context';
export {
  LockError,
  LockTimeoutError,
  LockBackendUnavailableError,
  LockLostError,
  LockShuttingDownError,
  type LockErrorCode,
} from './core/errors';
export { compareFences, isNewerFence, maxFence, isFence } from './core/fence';
export { normalizeKeys, type KeyInput } from './core/keys';
export type { LockServiceOptions } from './core/options';
export type { LockMetrics } from './core/metrics';
export type { LockLogger } from './core/logger';
export type { BreakerState } from './core/breaker';

// Backends: the contract, and the built-in ones (loaded when selected)
export type {
  AcquireOutcome,
  HandOffOutcome,
  BackendContext,
  BackendEvents,
  KeyWatch,
  LockBackend,
  LockBackendFactory,
  WakeListener,
} from './core/backend';
export type { BuiltInBackendOptions, LockBackendName } from './backends/registry';
export type { RedisBackendOptions, RedisLockMode } from './backends/redis/redis.backend';
export type { PostgresBackendOptions } from './backends/postgres/postgres.backend';
export type { ZookeeperBackendOptions } from './backends/zookeeper/options';
export { MemoryLockStore, type MemoryBackendOptions } from './backends/memory/memory.backend';
export type { FileBackendOptions } from './backends/file/file.backend';

// NestJS layer
export { LockModule } from './nest/lock.module';
export {
  LOCK_MODULE_OPTIONS,
  type LockModuleAsyncOptions,
  type LockModuleForRootOptions,
  type LockModuleOptions,
} from './nest/lock.module-definition';
export { isLocked, Locked, type LockedKeyFn, type LockedOptions } from './nest/locked.decorator';
