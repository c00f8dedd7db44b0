import type { KeyWatch, WakeListener } from '../../core/backend';

/**
 * Wake-ups for waiters. The release script PUBLISHes on one channel per key; this hub owns the
 * process's subscriber connection(s) and fans messages out to local listeners. Subscriptions are
 * ref-counted per channel and linger for a while after the last waiter leaves, so a hot key does
 * not pay SUBSCRIBE/UNSUBSCRIBE round trips on every contended acquisition.
 */

/** The part of an ioredis client (standalone or cluster) the hub needs. */
export interface SubscriberClient {
  readonly status: string;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
}

interface ChannelState {
  readonly listeners: Set<WakeListener>;
  subscribed: boolean;
  pending: Promise<boolean> | undefined;
  linger: NodeJS.Timeout | undefined;
}

export class WakeHub {
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  constructor(
    private readonly subscribers: readonly SubscriberClient[],
    private readonly lingerMs: number,
    /** How long SUBSCRIBE waits for a (re)connecting subscriber before giving up. */
    private readonly readyWaitMs: number,
    private readonly onError: (err: unknown) => void,
  ) {
    for (const sub of subscribers) sub.on('message', this.onMessage);
  }

  /**
   * Listener is registered synchronously: anything delivered after this call reaches it.
   * `ready()` resolves true once every channel is subscribed on at least one connection.
   */
  watch(channels: readonly string[], listener: WakeListener): KeyWatch {
    const states = channels.map((channel) => {
      let state = this.channels.get(channel);
      if (!state) {
        state = { listeners: new Set(), subscribed: false, pending: undefined, linger: undefined };
        this.channels.set(channel, state);
      }
      if (state.linger) {
        clearTimeout(state.linger);
        state.linger = undefined;
      }
      state.listeners.add(listener);
      return state;
    });
    let open = true;
    return {
      subscribed: () => states.every((s) => s.subscribed),
      ready: () => this.ensureSubscribed(channels, states),
      close: () => {
        if (!open) return;
        open = false;
        channels.forEach((channel, i) => this.unwatch(channel, states[i], listener));
      },
    };
  }

  /** Channels currently subscribed (for tests). */
  subscribedChannels(): string[] {
    return [...this.channels].filter(([, s]) => s.subscribed).map(([c]) => c);
  }

  close(): void {
    this.closed = true;
    for (const state of this.channels.values()) {
      if (state.linger) clearTimeout(state.linger);
    }
    this.channels.clear();
    for (const sub of this.subscribers) sub.off('message', this.onMessage);
  }

  private readonly onMessage = (channel: string): void => {
    const state = this.channels.get(channel);
    if (!state) return;
    for (const listener of state.listeners) listener.wake();
  };

  private async ensureSubscribed(
    channels: readonly string[],
    states: readonly ChannelState[],
  ): Promise<boolean> {
    const missing: string[] = [];
    const pending: Promise<boolean>[] = [];
    channels.forEach((channel, i) => {
      const state = states[i];
      if (state.subscribed) return;
      if (state.pending) pending.push(state.pending);
      else missing.push(channel);
    });
    if (missing.length > 0) {
      const attempt = this.subscribe(missing);
      for (const channel of missing) {
        const state = this.channels.get(channel);
        if (state) state.pending = attempt;
      }
      pending.push(attempt);
    }
    if (pending.length === 0) return true;
    const results = await Promise.all(pending);
    return results.every(Boolean);
  }

  private async subscribe(channels: string[]): Promise<boolean> {
    const results = await Promise.allSettled(
      this.subscribers.map(async (sub) => {
        // Subscriber connections have no offline queue either; give a connecting one a moment.
        if (sub.status !== 'ready') await this.whenReady(sub);
        return sub.subscribe(...channels);
      }),
    );
    // One connection is enough: every Redlock node publishes, any node's message wakes us.
    const ok = results.some((r) => r.status === 'fulfilled');
    if (!ok) {
      const failure = results.find((r) => r.status === 'rejected');
      this.onError(failure?.reason);
    }
    for (const channel of channels) {
      const state = this.channels.get(channel);
      if (!state) continue;
      state.pending = undefined;
      state.subscribed = ok;
      // Everyone left while SUBSCRIBE was in flight: start the linger clock now.
      if (state.listeners.size === 0) this.scheduleUnsubscribe(channel, state);
    }
    return ok;
  }

  private whenReady(sub: SubscriberClient): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        sub.off('ready', onReady);
        reject(new Error(`subscriber connection is ${sub.status}`));
      }, this.readyWaitMs);
      timer.unref();
      sub.once('ready', onReady);
    });
  }

  private unwatch(channel: string, state: ChannelState, listener: WakeListener): void {
    state.listeners.delete(listener);
    if (state.listeners.size === 0 && !state.pending) this.scheduleUnsubscribe(channel, state);
  }

  private scheduleUnsubscribe(channel: string, state: ChannelState): void {
    if (this.closed || state.linger) return;
    state.linger = setTimeout(() => {
      state.linger = undefined;
      if (state.listeners.size > 0 || state.pending || this.channels.get(channel) !== state) return;
      this.channels.delete(channel);
      if (!state.subscribed) return;
      for (const sub of this.subscribers) {
        sub.unsubscribe(channel).catch(() => {
          // The connection is down; it will not resubscribe a channel it no longer tracks.
        });
      }
    }, this.lingerMs);
    state.linger.unref();
  }
}
