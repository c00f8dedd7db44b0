import type { Provider, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { LockService, MemoryLockStore } from '@couponlock/lock';
import type { TransactionRunner } from '../../src/database/transaction-runner';

/** A class, abstract or not, as Nest uses it for an injection token. */
type Class<T> = abstract new (...args: never[]) => T;

/**
 * Every method of `type` (own and inherited) as a `jest.fn()` that throws until a test gives it
 * a result, so a call the test did not expect fails loudly instead of returning undefined.
 * Getters become plain, writable properties (undefined until a test sets them, e.g. with
 * `jest.replaceProperty`).
 */
export function automock<T extends object>(type: Class<T>): jest.Mocked<T> {
  const mock: Record<string | symbol, unknown> = {};
  for (let proto = type.prototype as object; proto !== Object.prototype;) {
    for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (name === 'constructor' || name in mock) continue;
      if (typeof descriptor.value === 'function') {
        mock[name] = jest.fn((...args: unknown[]) => {
          throw new Error(`unexpected call ${type.name}.${name}(${JSON.stringify(args)})`);
        });
      } else if (descriptor.get) {
        mock[name] = undefined;
      }
    }
    proto = Object.getPrototypeOf(proto) as object;
  }
  return mock as jest.Mocked<T>;
}

export interface TestService<S> {
  /** The service under test, built by Nest DI like in the app. */
  sut: S;
  /** The automock Nest injected for a dependency (the same object the service holds). */
  mock<T extends object>(type: Class<T>): jest.Mocked<T>;
  /** A real lock service on a private in-memory store: the first lock of a key has fence '1'. */
  locks: LockService;
  close(): Promise<void>;
}

/**
 * Builds `service` the way the app does (Nest DI, so `@Locked` gets its LockService), with
 * every constructor dependency auto-mocked, except the `real` providers given (a real class
 * provider gets its own dependencies auto-mocked in turn). Locks are real (memory backend), so
 * reentrancy, fences and `currentLock()` behave as in production.
 */
export async function newTestService<S>(
  service: Type<S>,
  real: readonly Provider[] = [],
): Promise<TestService<S>> {
  const locks = new LockService({
    backend: 'memory',
    memory: { store: new MemoryLockStore() },
    // The memory backend announces that it excludes nothing across processes: known here.
    logger: {
      log: () => undefined,
      warn: (message) => {
        if (!message.startsWith('memory lock backend')) console.warn(message);
      },
    },
  });
  const mocks = new Map<unknown, object>();
  const moduleRef: TestingModule = await Test.createTestingModule({
    providers: [service, { provide: LockService, useValue: locks }, ...real],
  })
    .useMocker((token) => {
      if (typeof token !== 'function') throw new Error(`no mock for token ${String(token)}`);
      const mock = automock(token as Class<object>);
      mocks.set(token, mock);
      return mock;
    })
    .compile();
  return {
    sut: moduleRef.get<S>(service),
    mock<T extends object>(type: Class<T>): jest.Mocked<T> {
      const mock = mocks.get(type);
      if (!mock) throw new Error(`${type.name} is not a mocked dependency`);
      return mock as jest.Mocked<T>;
    },
    locks,
    async close() {
      await moduleRef.close();
      await locks.close();
    },
  };
}

/**
 * Makes a mocked TransactionRunner run the work it is given, as the real one does, and tracks
 * whether a call happens inside `run` (a transaction) so a test can assert that a write was part
 * of it. `change` outside `run` is one autocommit statement, as in production.
 */
export function runWorkInline(db: jest.Mocked<TransactionRunner>): {
  /** Transactions `run` opened (nested calls join the outer one, as in production). */
  readonly transactions: number;
  readonly inTransaction: boolean;
} {
  let depth = 0;
  const state = { transactions: 0, inTransaction: false };
  db.run.mockImplementation(async <T>(work: () => Promise<T>): Promise<T> => {
    if (depth === 0) state.transactions++;
    depth++;
    state.inTransaction = true;
    try {
      return await work();
    } finally {
      depth--;
      state.inTransaction = depth > 0;
    }
  });
  db.change.mockImplementation(<T>(work: () => Promise<T>): Promise<T> => work());
  Object.defineProperty(db, 'inTransaction', { get: () => state.inTransaction });
  return state;
}

/** What `promise` rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a result');
}

/**
 * `actual` is exactly `expected`: the same class, and for a DomainError the same stable code,
 * kind, message and details (what the problem+json answer is made of).
 */
export function expectSameError(actual: unknown, expected: Error): void {
  expect(actual).toBeInstanceOf(expected.constructor);
  const shape = (error: unknown) => {
    const { code, kind, details } = error as { code?: unknown; kind?: unknown; details?: unknown };
    return { name: (error as Error).name, message: (error as Error).message, code, kind, details };
  };
  expect(shape(actual)).toEqual(shape(expected));
}
