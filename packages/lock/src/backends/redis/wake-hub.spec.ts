import { EventEmitter } from 'node:events';
import type { WakeListener } from '../../core/backend';
import { WakeHub, type SubscriberClient } from './wake-hub';

class FakeSubscriber extends EventEmitter implements SubscriberClient {
  status = 'ready';
  subscribed = new Set<string>();
  calls: string[] = [];
  fail = false;

  subscribe(...channels: string[]): Promise<unknown> {
    this.calls.push(`SUBSCRIBE ${channels.join(' ')}`);
    if (this.fail) return Promise.reject(new Error('down'));
    channels.forEach((c) => this.subscribed.add(c));
    return Promise.resolve(channels.length);
  }

  unsubscribe(...channels: string[]): Promise<unknown> {
    this.calls.push(`UNSUBSCRIBE ${channels.join(' ')}`);
    channels.forEach((c) => this.subscribed.delete(c));
    return Promise.resolve(0);
  }

  publish(channel: string): void {
    if (this.subscribed.has(channel)) this.emit('message', channel, '');
  }
}

const counter = (): WakeListener & { count: number } => ({
  count: 0,
  wake() {
    this.count++;
  },
});

describe('WakeHub', () => {
  afterEach(() => jest.useRealTimers());

  it('subscribes once per channel and fans messages out to every listener', async () => {
    const sub = new FakeSubscriber();
    const hub = new WakeHub([sub], 1000, 100, () => undefined);
    const a = counter();
    const b = counter();
    const wa = hub.watch(['ch:1', 'ch:2'], a);
    const wb = hub.watch(['ch:1'], b);
    await expect(Promise.all([wa.ready(), wb.ready()])).resolves.toEqual([true, true]);
    expect(sub.calls).toEqual(['SUBSCRIBE ch:1 ch:2']);
    sub.publish('ch:1');
    sub.publish('ch:2');
    expect(a.count).toBe(2);
    expect(b.count).toBe(1);
    // Already subscribed: no further round trip.
    await expect(wa.ready()).resolves.toBe(true);
    expect(sub.calls).toHaveLength(1);
    wa.close();
    wb.close();
    hub.close();
  });

  it('keeps a channel subscribed while it lingers, then unsubscribes', async () => {
    jest.useFakeTimers();
    const sub = new FakeSubscriber();
    const hub = new WakeHub([sub], 1000, 100, () => undefined);
    const w1 = hub.watch(['hot'], counter());
    await w1.ready();
    w1.close();
    jest.advanceTimersByTime(500);
    const w2 = hub.watch(['hot'], counter());
    await w2.ready();
    expect(sub.calls).toEqual(['SUBSCRIBE hot']);
    w2.close();
    jest.advanceTimersByTime(1000);
    expect(sub.calls).toEqual(['SUBSCRIBE hot', 'UNSUBSCRIBE hot']);
    expect(hub.subscribedChannels()).toEqual([]);
    hub.close();
  });

  it('a listener that left gets nothing', async () => {
    const sub = new FakeSubscriber();
    const hub = new WakeHub([sub], 1000, 100, () => undefined);
    const a = counter();
    const w = hub.watch(['x'], a);
    await w.ready();
    w.close();
    sub.publish('x');
    expect(a.count).toBe(0);
    hub.close();
  });

  it('reports failure, and ready() retries', async () => {
    const sub = new FakeSubscriber();
    sub.fail = true;
    const errors: unknown[] = [];
    const hub = new WakeHub([sub], 1000, 100, (e) => errors.push(e));
    const w = hub.watch(['x'], counter());
    await expect(w.ready()).resolves.toBe(false);
    expect(errors).toHaveLength(1);
    sub.fail = false;
    await expect(w.ready()).resolves.toBe(true);
    expect(sub.calls).toEqual(['SUBSCRIBE x', 'SUBSCRIBE x']);
    w.close();
    hub.close();
  });

  it('one reachable connection out of several is enough (Redlock)', async () => {
    const up = new FakeSubscriber();
    const down = new FakeSubscriber();
    down.fail = true;
    const hub = new WakeHub([down, up], 1000, 100, () => undefined);
    const a = counter();
    const w = hub.watch(['x'], a);
    await expect(w.ready()).resolves.toBe(true);
    up.publish('x');
    expect(a.count).toBe(1);
    w.close();
    hub.close();
  });

  it('waits briefly for a connecting subscriber', async () => {
    const sub = new FakeSubscriber();
    sub.status = 'connecting';
    const hub = new WakeHub([sub], 1000, 500, () => undefined);
    const w = hub.watch(['x'], counter());
    const ready = w.ready();
    setTimeout(() => {
      sub.status = 'ready';
      sub.emit('ready');
    }, 20);
    await expect(ready).resolves.toBe(true);
    w.close();
    hub.close();
  });
});
