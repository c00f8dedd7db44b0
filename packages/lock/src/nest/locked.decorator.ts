import 'reflect-metadata';
import { Inject } from '@nestjs/common';
import { LockError } from '../core/errors';
import type { KeyInput } from '../core/keys';
import { LockService, type AcquireOptions } from '../core/lock-service';

/**
 * Hidden property the decorator asks Nest to fill with `LockService`. Its description is what
 * Nest prints when LockModule is missing ("... make sure that the "Symbol(...)" property is
 * available"), so it names the fix.
 */
const LOCK_SERVICE = Symbol('LockService for @Locked (import LockModule.forRoot/forRootAsync)');

export type LockedOptions = Omit<AcquireOptions, 'signal'>;

export type LockedKeyFn<A extends readonly unknown[]> = (...args: A) => KeyInput;

/** Compile-time check that the key function's parameters are a prefix of the method's. */
type PrefixOf<P extends readonly unknown[], A extends readonly unknown[]> = P extends readonly [
  ...A,
  ...unknown[],
]
  ? unknown
  : { readonly keyFnParametersMustBeAPrefixOfTheMethodParameters: never };

type LockedMethodDecorator<A extends unknown[]> = <
  T extends (...args: [...A, ...never[]]) => Promise<unknown>,
>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<T> & PrefixOf<Parameters<T>, A>,
) => void;

/** Every function @Locked produced: tooling (API docs) asks whether a method takes a lock. */
const lockedMethods = new WeakSet<object>();

/**
 * True when `method` is a method @Locked wraps, e.g. `isLocked(Service.prototype.redeem)`. For
 * tooling that derives something from the lock, such as the lock errors a route documents.
 */
export function isLocked(method: unknown): boolean {
  return typeof method === 'function' && lockedMethods.has(method);
}

/** Classes whose prototype already asks for the service (one request per class is enough). */
const injected = new WeakSet<object>();

function injectLockService(prototype: object): void {
  if (injected.has(prototype)) return;
  injected.add(prototype);
  // Property injection with Nest's public @Inject: Nest resolves it while it builds the
  // provider, so the app fails at boot, naming the class, when LockModule is not imported.
  Inject(LockService)(prototype, LOCK_SERVICE);
}

/**
 * Runs the (async) method under a lock on `keyFn(...args)`. Reentrant inside other locked
 * calls; the current lock is available through `currentLock()`. Works on any Nest provider or
 * controller; boot fails when LockModule is not imported, and the method never runs unlocked.
 */
export function Locked<A extends unknown[]>(
  keyFn: LockedKeyFn<A>,
  opts?: LockedOptions,
): LockedMethodDecorator<A> {
  if (typeof keyFn !== 'function') throw new TypeError('@Locked needs a key function');
  return (target, propertyKey, descriptor) => {
    const original = descriptor.value;
    if (typeof original !== 'function') {
      throw new TypeError(`@Locked can only decorate methods (${String(propertyKey)})`);
    }
    if (typeof target === 'function') {
      throw new TypeError(`@Locked cannot decorate static method ${String(propertyKey)}`);
    }
    injectLockService(target);
    const where = `${target.constructor.name}.${String(propertyKey)}`;

    const wrapper = async function (this: object, ...args: Parameters<typeof original>) {
      const service = (this as { [LOCK_SERVICE]?: unknown })[LOCK_SERVICE];
      if (!(service instanceof LockService)) {
        // Instantiated outside Nest DI (e.g. `new`): refuse rather than run unguarded.
        throw new LockError(
          'LOCK_MISCONFIGURED',
          `@Locked ${where}: LockService was not injected; import LockModule`,
        );
      }
      const keys = keyFn(...(args as unknown as A));
      return service.withLock(keys, opts, () => original.apply(this, args));
    };

    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
    // Route, guard, swagger... metadata may already sit on the original function.
    for (const key of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
    }
    lockedMethods.add(wrapper);
    descriptor.value = wrapper as unknown as typeof original;
  };
}
