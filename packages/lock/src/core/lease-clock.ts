/** Something the clock calls back once `dueAt` (performance.now()) has come. */
export interface Timed {
  /** When the item wants `onDue`; read by the clock when it runs. */
  readonly dueAt: number;
  onDue(): void;
}

/**
 * One timer for every held lock's watchdog and deadline, armed lazily.
 *
 * A timer per lock, armed at acquire and cleared at release, creates and drops a Node timer list
 * on every acquire + release of an otherwise idle process. Here an item only arms the timer when
 * it is due before the timer fires; a released item is simply forgotten, and the timer, when it
 * fires for nobody, is not re-armed. Back-to-back short locks therefore arm about one timer per
 * watchdog period instead of one per lock. Items are called at their due time or up to 1 ms
 * early (timers round to whole ms), never knowingly late.
 */
export class LeaseClock {
  private readonly items = new Set<Timed>();
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity: not armed). */
  private fireAt = Infinity;
  private disposed = false;

  /** Registers `item` (or notes its new `dueAt`): it is called once that time has come. */
  add(item: Timed): void {
    this.items.add(item);
    if (item.dueAt < this.fireAt) this.arm(item.dueAt);
  }

  remove(item: Timed): void {
    this.items.delete(item);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fireAt = Infinity;
  }

  private arm(at: number): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.fireAt = at;
    // Whole milliseconds, rounded down: a watchdog run a bit early is harmless, a deadline
    // noticed late is not.
    this.timer = setTimeout(runClock, Math.max(0, Math.floor(at - performance.now())), this);
    this.timer.unref();
  }

  /** @internal timer callback */
  run(): void {
    this.timer = undefined;
    this.fireAt = Infinity;
    const now = performance.now() + 1;
    const due: Timed[] = [];
    for (const item of this.items) if (item.dueAt <= now) due.push(item);
    for (const item of due) {
      // Called items reschedule themselves (add) or leave (remove).
      this.items.delete(item);
      item.onDue();
    }
    let next = Infinity;
    for (const item of this.items) if (item.dueAt < next) next = item.dueAt;
    if (next < this.fireAt) this.arm(next);
  }
}

function runClock(clock: LeaseClock): void {
  clock.run();
}
