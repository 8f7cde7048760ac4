import { LRUCache } from "lru-cache";
import { onAbort } from "../../signals.js";
import type { IdempotencyRecord, IdempotencyStore, SettledRecord } from "./idempotency.js";

export interface MemoryIdempotencyOptions {
  /** How long a recorded outcome is kept, ms. */
  readonly windowMs: number;
  /** Longest time a running call holds its key, ms. */
  readonly runningTtlMs: number;
  /** Most keys held (the oldest go first). Default 100,000. */
  readonly maxKeys?: number;
  /** Monotonic clock in ms (lru-cache's `perf`). Default performance.now. */
  readonly now?: () => number;
}

/** The embedded mode's idempotency records: this process's memory, bounded, each with its TTL. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records: LRUCache<string, IdempotencyRecord>;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly options: MemoryIdempotencyOptions) {
    this.records = new LRUCache<string, IdempotencyRecord>({
      max: options.maxKeys ?? 100_000,
      ttlAutopurge: false,
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
  }

  claim(key: string, fp: string, owner: string): Promise<IdempotencyRecord | undefined> {
    const existing = this.records.get(key);
    if (existing) return Promise.resolve(existing);
    this.records.set(key, { s: "running", owner, fp }, { ttl: this.options.runningTtlMs });
    return Promise.resolve(undefined);
  }

  settle(key: string, owner: string, record: SettledRecord): Promise<void> {
    if (this.holds(key, owner)) this.records.set(key, record, { ttl: this.options.windowMs });
    this.wake(key);
    return Promise.resolve();
  }

  release(key: string, owner: string): Promise<void> {
    if (this.holds(key, owner)) this.records.delete(key);
    this.wake(key);
    return Promise.resolve();
  }

  wait(key: string, signal: AbortSignal): Promise<SettledRecord | undefined> {
    const now = this.records.get(key);
    if (now?.s !== "running") return Promise.resolve(now);
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = (): void => {
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        stop();
      };
      const wake = (): void => {
        done();
        const record = this.records.get(key);
        resolve(record?.s === "running" ? undefined : record);
      };
      set.add(wake);
      const stop = onAbort(signal, () => {
        done();
        reject(signal.reason as Error);
      });
    });
  }

  private holds(key: string, owner: string): boolean {
    const current = this.records.get(key);
    return current?.s === "running" && current.owner === owner;
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (set) for (const wake of [...set]) wake();
  }
}
