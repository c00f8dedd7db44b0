/* eslint-disable @typescript-eslint/no-require-imports --
 * Backends are loaded on first use with require(): each needs its own client library (ioredis,
 * pg, ...), an optional peer dependency that an app selecting another backend does not install.
 * `import type` below is erased at compile time and loads nothing.
 */
import type { LockBackendFactory } from '../core/backend';
import type { FileBackendOptions } from './file/file.backend';
import type { MemoryBackendOptions } from './memory/memory.backend';
import type { PostgresBackendOptions } from './postgres/postgres.backend';
import type { RedisBackendOptions } from './redis/redis.backend';
import type { ZookeeperBackendOptions } from './zookeeper/options';

/**
 * Every built-in backend, by the name `LockServiceOptions.backend` selects it with, and the type
 * of its options (read from `LockServiceOptions[name]`).
 *
 * Adding a backend is one file plus one registration: write `./<name>/<name>.backend.ts`
 * exporting `create(options: XBackendOptions | undefined): LockBackendFactory`, then add one
 * line here and one in `LOADERS`.
 */
export interface BuiltInBackendOptions {
  redis: RedisBackendOptions;
  memory: MemoryBackendOptions;
  file: FileBackendOptions;
  postgres: PostgresBackendOptions;
  zookeeper: ZookeeperBackendOptions;
}

export type LockBackendName = keyof BuiltInBackendOptions;

interface BackendModule<N extends LockBackendName> {
  create(options: BuiltInBackendOptions[N] | undefined): LockBackendFactory;
}

const LOADERS: { readonly [N in LockBackendName]: () => BackendModule<N> } = {
  redis: () => require('./redis/redis.backend') as BackendModule<'redis'>,
  memory: () => require('./memory/memory.backend') as BackendModule<'memory'>,
  file: () => require('./file/file.backend') as BackendModule<'file'>,
  postgres: () => require('./postgres/postgres.backend') as BackendModule<'postgres'>,
  zookeeper: () => require('./zookeeper/zookeeper.backend') as BackendModule<'zookeeper'>,
};

export const BACKEND_NAMES = Object.keys(LOADERS) as readonly LockBackendName[];

export function isBackendName(name: unknown): name is LockBackendName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(LOADERS, name);
}

/** The factory of a built-in backend, loading its module (and client library) now. */
export function builtInBackend<N extends LockBackendName>(
  name: N,
  options: BuiltInBackendOptions[N] | undefined,
): LockBackendFactory {
  if (!isBackendName(name)) {
    throw new TypeError(
      `unknown lock backend "${String(name)}" (built in: ${BACKEND_NAMES.join(', ')})`,
    );
  }
  const load = LOADERS[name] as () => BackendModule<N>;
  let backend: BackendModule<N>;
  try {
    backend = load();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
    // Its client library is an optional peer dependency the app has not installed.
    throw new Error(
      `lock backend "${name}" needs its client library (an optional peer dependency of ` +
        `@couponlock/lock): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  return backend.create(options);
}
