/**
 * Many deadlines on one timer. Every call has a total budget and every downstream request an attempt
 * timeout; with a Node timer each, a call at one in flight creates, lists and drops two timer lists
 * (Node keeps one list per duration and removes it when it empties) and re-arms the libuv timer twice.
 * Here one timer is armed for the earliest deadline; items that finish are only forgotten (the timer is
 * left alone and, when it fires, finds nothing due and re-arms for the next deadline, or stops), so the
 * steady state of a stream of calls touches no timer at all.
 *
 * Expiry is exact: an item expires when its deadline passes, never later (the timer is re-armed whenever
 * a new deadline is earlier than the armed one). `Date.now()` is read at each use, so fake timers in
 * tests see the same deadlines as the real clock would.
 */
export class Deadlines<T> {
  private readonly due = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  /** `onExpire` runs once per item whose deadline passed (the item is forgotten first). */
  constructor(private readonly onExpire: (item: T) => void) {}

  get size(): number {
    return this.due.size;
  }

  /** Sets (or moves) the item's deadline to `delayMs` from now. */
  set(item: T, delayMs: number): void {
    const at = Date.now() + delayMs;
    this.due.set(item, at);
    if (at < this.armedFor) this.arm(at);
  }

  /** The items waiting for their deadline (a snapshot). */
  items(): T[] {
    return [...this.due.keys()];
  }

  /** Forgets the item (it finished): no timer work. */
  delete(item: T): void {
    this.due.delete(item);
  }

  /** Stops the timer and forgets every item (nothing expires). */
  clear(): void {
    this.due.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
    // What waits on a deadline holds the process open by other means (a pipe, a socket, a client).
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const expired: T[] = [];
    for (const [item, at] of this.due) if (at <= now) expired.push(item);
    for (const item of expired) {
      // An earlier expiry's handler may have settled (and deleted) this one already.
      if (!this.due.has(item)) continue;
      this.due.delete(item);
      this.onExpire(item);
    }
    // Handlers may have set deadlines (and armed the timer): arm for the earliest one left either way.
    let next = Number.POSITIVE_INFINITY;
    for (const at of this.due.values()) if (at < next) next = at;
    if (next < this.armedFor) this.arm(next);
  };
}
