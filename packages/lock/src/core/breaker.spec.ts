import { CircuitBreaker, type BreakerState } from './breaker';
import { LockBackendUnavailableError } from './errors';

describe('CircuitBreaker', () => {
  let probeResults: boolean[];
  let probes: number;
  let changes: BreakerState[];
  let breaker: CircuitBreaker;

  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  beforeEach(() => {
    jest.useFakeTimers();
    probeResults = [];
    probes = 0;
    changes = [];
    breaker = new CircuitBreaker(
      () => {
        probes++;
        return probeResults.shift() === true
          ? Promise.resolve()
          : Promise.reject(new Error('still down'));
      },
      { probeMinMs: 500, probeMaxMs: 2000 },
      (state) => changes.push(state),
    );
  });

  afterEach(() => {
    breaker.dispose();
    jest.useRealTimers();
  });

  it('starts closed; a failure opens it and aborts the outage signal with the error', () => {
    expect(breaker.state).toBe('closed');
    const outage = breaker.outage;
    breaker.failure(breaker.epoch, new Error('connection reset'));
    expect(breaker.state).toBe('open');
    expect(outage.aborted).toBe(true);
    expect(outage.reason).toBeInstanceOf(LockBackendUnavailableError);
    expect((outage.reason as Error).message).toContain('connection reset');
    // The next closed period gets a fresh signal.
    expect(breaker.outage.aborted).toBe(false);
    expect(changes).toEqual(['open']);
  });

  it('ignores failures of operations sent before it last opened', () => {
    const stale = breaker.epoch;
    breaker.disconnected(new Error('closed'));
    probeResults.push(true);
    breaker.reconnected();
    return flush().then(() => {
      expect(breaker.state).toBe('closed');
      breaker.failure(stale, new Error('late news from the old connection'));
      expect(breaker.state).toBe('closed');
      expect(changes).toEqual(['open', 'half-open', 'closed']);
    });
  });

  it('refuses with retryAfterMs = time to the next probe, never below 1000', () => {
    breaker.disconnected(new Error('gone'));
    expect(breaker.unavailable().retryAfterMs).toBe(1000);
    expect(breaker.unavailable().code).toBe('LOCK_BACKEND_UNAVAILABLE');
  });

  it('probes after the delay, doubles it after each failed probe (capped), closes on success', async () => {
    breaker.disconnected(new Error('gone'));
    jest.advanceTimersByTime(499);
    expect(probes).toBe(0);
    jest.advanceTimersByTime(1);
    expect(probes).toBe(1);
    expect(breaker.state).toBe('half-open');
    await flush();
    expect(breaker.state).toBe('open');
    jest.advanceTimersByTime(999);
    expect(probes).toBe(1);
    jest.advanceTimersByTime(1);
    expect(probes).toBe(2);
    await flush();
    // 500, 1000, then capped at 2000.
    expect(breaker.unavailable().retryAfterMs).toBe(2000);
    jest.advanceTimersByTime(2000);
    expect(probes).toBe(3);
    await flush();
    jest.advanceTimersByTime(2000);
    expect(probes).toBe(4);
    await flush();
    probeResults.push(true);
    jest.advanceTimersByTime(2000);
    await flush();
    expect(probes).toBe(5);
    expect(breaker.state).toBe('closed');
    // A later outage starts again from the shortest delay.
    breaker.disconnected(new Error('again'));
    jest.advanceTimersByTime(500);
    expect(probes).toBe(6);
  });

  it('a reconnect report probes at once instead of waiting', async () => {
    breaker.disconnected(new Error('gone'));
    probeResults.push(true);
    breaker.reconnected();
    expect(probes).toBe(1);
    await flush();
    expect(breaker.state).toBe('closed');
    // Reports while closed change nothing.
    breaker.reconnected();
    expect(probes).toBe(1);
  });

  it('stops probing once disposed', () => {
    breaker.disconnected(new Error('gone'));
    breaker.dispose();
    jest.advanceTimersByTime(10_000);
    expect(probes).toBe(0);
  });
});
