import type { WakeListener } from '../core/backend';

/**
 * Waiters listening for the release of a name (a key, a NOTIFY payload), for backends that fan
 * one server event out to the local waiters it concerns.
 */
export class WakeListeners {
  private readonly byName = new Map<string, Set<WakeListener>>();

  /** Registers `listener` under every name; the returned function unregisters it. */
  add(names: readonly string[], listener: WakeListener): () => void {
    for (const name of names) {
      let set = this.byName.get(name);
      if (!set) {
        set = new Set();
        this.byName.set(name, set);
      }
      set.add(listener);
    }
    return () => {
      for (const name of names) this.remove(name, listener);
    };
  }

  /** Unregisters one listener of one name; true when nobody listens to that name any more. */
  remove(name: string, listener: WakeListener): boolean {
    const set = this.byName.get(name);
    set?.delete(listener);
    if (set?.size) return false;
    this.byName.delete(name);
    return true;
  }

  has(name: string): boolean {
    return (this.byName.get(name)?.size ?? 0) > 0;
  }

  /** The listeners of `name`, copied: a woken listener may unregister itself. */
  of(name: string): WakeListener[] {
    return [...(this.byName.get(name) ?? [])];
  }

  wake(name: string): void {
    for (const listener of this.of(name)) listener.wake();
  }

  clear(): void {
    this.byName.clear();
  }
}
