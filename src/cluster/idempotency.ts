import type {
  IdempotencyRecord,
  IdempotencyStore,
  SettledRecord,
} from "../pipeline/middleware/idempotency.js";
import { onAbort } from "../signals.js";
import type { ClusterState } from "./connection.js";

/**
 * Replaces the running record with `ARGV[2]` (or deletes it when ARGV[2] is "") only if it is still the
 * one `ARGV[1]` wrote, then tells the waiters. KEYS: record. ARGV: running record, new record, ttl, channel.
 */
const SETTLE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3])) end
redis.call('PUBLISH', ARGV[4], KEYS[1])
return 1`;

function parse(value: string | null): IdempotencyRecord | undefined {
  if (value === null) return undefined;
  return JSON.parse(value) as IdempotencyRecord;
}

/**
 * Idempotency records shared by every replica: `idem:<hashed key>` holds the running record (SET NX
 * GET: claim and read in one round trip, expiring after runningTtlMs) and then the outcome for windowMs
 * (a Lua compare-and-set by the owner, which also publishes on channel `idem` to wake the replicas
 * waiting for it).
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly channel: string;

  constructor(
    private readonly state: ClusterState,
    private readonly options: { readonly windowMs: number; readonly runningTtlMs: number },
  ) {
    this.channel = state.key("idem");
    state.subscribe(this.channel, (recordKey) => {
      const set = this.waiters.get(recordKey);
      if (set) for (const wake of [...set]) wake();
    });
  }

  private running(owner: string, fp: string): string {
    return JSON.stringify({ s: "running", owner, fp } satisfies IdempotencyRecord);
  }

  async claim(key: string, fp: string, owner: string): Promise<IdempotencyRecord | undefined> {
    const recordKey = this.state.key("idem", key);
    const old = await this.state.call("idempotency", (r) =>
      r.set(recordKey, this.running(owner, fp), "PX", this.options.runningTtlMs, "NX", "GET"),
    );
    return parse(old);
  }

  async settle(key: string, owner: string, record: SettledRecord): Promise<void> {
    await this.finish(key, this.running(owner, record.fp), JSON.stringify(record));
  }

  async release(key: string, owner: string, fp: string): Promise<void> {
    await this.finish(key, this.running(owner, fp), "");
  }

  /** One round trip: compare-and-set (or delete) by the owner, and wake the waiters. */
  private async finish(key: string, running: string, value: string): Promise<void> {
    const recordKey = this.state.key("idem", key);
    await this.state.call("idempotency", (r) =>
      r.eval(SETTLE, 1, recordKey, running, value, String(this.options.windowMs), this.channel),
    );
  }

  async wait(key: string, signal: AbortSignal): Promise<SettledRecord | undefined> {
    const recordKey = this.state.key("idem", key);
    signal.throwIfAborted();
    let set = this.waiters.get(recordKey);
    if (!set) this.waiters.set(recordKey, (set = new Set()));
    const waiters = set;
    let stop: () => void = () => undefined;
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve, reject) => {
      wake = resolve;
      stop = onAbort(signal, () => reject(signal.reason as Error));
    });
    waiters.add(wake);
    try {
      // Read after registering: an outcome recorded before the registration is not missed.
      const record = parse(await this.state.call("idempotency", (r) => r.get(recordKey)));
      if (record?.s !== "running") return record;
      await woken;
      const after = parse(await this.state.call("idempotency", (r) => r.get(recordKey)));
      return after?.s === "running" ? undefined : after;
    } finally {
      stop();
      waiters.delete(wake);
      if (waiters.size === 0 && this.waiters.get(recordKey) === waiters) this.waiters.delete(recordKey);
    }
  }
}
