import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { LockService } from '@couponlock/lock';
import { GracefulShutdown } from './graceful-shutdown';

/** What GracefulShutdown touches of the app, with a record of the order it happened in. */
function fakeApp(close: () => Promise<void>) {
  const steps: string[] = [];
  const locks = {
    shutdown: jest.fn(() => {
      steps.push('lock waits ended');
      return Promise.resolve();
    }),
    close: jest.fn(() => {
      steps.push('held locks released');
      return Promise.resolve();
    }),
  };
  const app = {
    getHttpAdapter: () => ({
      getInstance: () => ({ startDraining: () => steps.push('draining') }),
    }),
    get: (token: unknown) => {
      if (token !== LockService) throw new Error('unexpected provider');
      return locks;
    },
    close: jest.fn(() => {
      steps.push('app closing');
      return close();
    }),
  };
  return { app: app as unknown as NestFastifyApplication, locks, steps };
}

describe('GracefulShutdown', () => {
  let exit: jest.SpyInstance;
  let logError: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers();
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    // A real run has exited by now; here no timer of it may fire after the test.
    jest.clearAllTimers();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('drains, ends lock waits, closes the app and exits 0 within the grace period', async () => {
    const { app, locks, steps } = fakeApp(() => Promise.resolve());
    await new GracefulShutdown(app, 1000).run('SIGTERM');
    expect(steps).toEqual(['draining', 'lock waits ended', 'app closing']);
    // Held locks are released by the app's own shutdown hooks (LockModule), not here.
    expect(locks.close).not.toHaveBeenCalled();
    expect(exit.mock.calls).toEqual([[0]]);
  });

  it('past the grace period, releases the locks still held and exits 1', async () => {
    // A request that never finishes (a holder stuck past its statement timeout): close hangs.
    const { app, steps } = fakeApp(() => new Promise<void>(() => undefined));
    void new GracefulShutdown(app, 50).run('SIGTERM');
    await jest.advanceTimersByTimeAsync(49);
    expect(exit).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(steps).toEqual(['draining', 'lock waits ended', 'app closing', 'held locks released']);
    expect(exit.mock.calls).toEqual([[1]]);
    expect(logError.mock.calls).toEqual([
      ['shutdown took longer than 50 ms; releasing locks and exiting'],
    ]);
  });

  it('when closing fails, releases the locks still held and exits 1', async () => {
    const { app, steps } = fakeApp(() => Promise.reject(new Error('pool would not close')));
    await new GracefulShutdown(app, 1000).run('SIGTERM');
    expect(steps).toEqual(['draining', 'lock waits ended', 'app closing', 'held locks released']);
    expect(exit.mock.calls).toEqual([[1]]);
  });

  it('runs once however many signals arrive', async () => {
    const { app, steps } = fakeApp(() => Promise.resolve());
    const shutdown = new GracefulShutdown(app, 1000);
    await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);
    expect(steps).toEqual(['draining', 'lock waits ended', 'app closing']);
    expect(exit.mock.calls).toEqual([[0]]);
  });
});
