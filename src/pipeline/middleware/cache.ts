import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError } from "../../errors.js";
import { onAbort } from "../../signals.js";
import type { CacheSettings } from "../settings.js";
import type { CallContext, Handler, Middleware } from "../types.js";
import type { SharedCacheStore } from "./cacheShare.js";

export interface ResultCacheOptions extends Partial<CacheSettings> {
  /** Monotonic clock in ms for TTLs (lru-cache's `perf`). Default performance.now. */
  readonly now?: (() => number) | undefined;
  /**
   * Cluster mode: the entries live in Redis, shared by every replica (this process keeps only its calls
   * in flight, for coalescing). A lookup that fails is a miss; an invalidation that fails before a write
   * fails that write (CLUSTER_STATE_UNAVAILABLE).
   */
  readonly shared?: SharedCacheStore | undefined;
  /** Cluster mode: whether a server has cached tools (only those cost an invalidation round trip). */
  readonly cachesServer?: ((server: string) => boolean) | undefined;
}

export interface ResultCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly coalesced: number;
  readonly invalidations: number;
  /** Entries held. */
  readonly size: number;
  /** Bytes held (JSON length of results and keys). */
  readonly bytes: number;
}

/**
 * One downstream call shared by every identical caller; it is aborted only when all of them left. Its
 * controller is the flight's, not any caller's: it outlives the caller that started it.
 */
interface Flight {
  readonly key: string;
  readonly promise: Promise<CallToolResult>;
  readonly controller: AbortController;
  waiters: number;
}

/** JSON with object keys sorted at every level, so equal arguments give equal keys. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : stableStringify(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v !== undefined && typeof v !== "function")
      parts.push(`${JSON.stringify(key)}:${stableStringify(v)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * Results of read-only tools that opted in (policy.cacheTtlMs > 0), bounded by entries and bytes, with a
 * per-entry TTL. Any non-read-only call to a server drops that server's entries when it starts and again
 * when it ends, and a read that overlapped a write is not stored. Cached results are shared objects:
 * treat them as immutable.
 */
export class ResultCache {
  private readonly lru: LRUCache<string, CallToolResult>;
  private readonly byServer = new Map<string, Set<string>>();
  private readonly generation = new Map<string, number>();
  private readonly flights = new Map<string, Flight>();
  private counters = { hits: 0, misses: 0, coalesced: 0, invalidations: 0 };
  private readonly shared: SharedCacheStore | undefined;
  private readonly cachesServer: (server: string) => boolean;

  constructor(options: ResultCacheOptions = {}) {
    this.shared = options.shared;
    this.cachesServer = options.cachesServer ?? (() => true);
    const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.lru = new LRUCache<string, CallToolResult>({
      max: options.maxEntries ?? 1000,
      maxSize: maxBytes,
      maxEntrySize: maxBytes,
      // lru-cache needs a positive integer; computed once per stored result (a miss), never on a hit.
      sizeCalculation: (value, key) => Math.max(1, Buffer.byteLength(JSON.stringify(value)) + key.length),
      dispose: (_value, key) => this.unindex(key),
      // 0: read the clock on each TTL check (cheap) instead of lru-cache's default of caching it behind a
      // 1 ms setTimeout per lookup burst.
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
  }

  static keyOf(ctx: CallContext): string {
    const hash = createHash("sha256").update(stableStringify(ctx.args)).digest("hex");
    return `${ctx.route.server}\u0000${ctx.route.originalName}\u0000${hash}`;
  }

  get stats(): ResultCacheStats {
    return { ...this.counters, size: this.lru.size, bytes: this.lru.calculatedSize };
  }

  /**
   * Drops the server's entries (and its calls in flight from coalescing). Cluster mode: also the shared
   * entries, when the server has cached tools: the promise settles when Redis has done it.
   */
  invalidateServer(server: string): Promise<void> | undefined {
    this.invalidateLocal(server);
    if (this.shared && this.cachesServer(server)) return this.shared.invalidate(server);
    return undefined;
  }

  private invalidateLocal(server: string): void {
    this.generation.set(server, (this.generation.get(server) ?? 0) + 1);
    // Called twice per call of every non-read-only tool: nothing to scan on the usual path.
    if (this.flights.size > 0) {
      const prefix = `${server}\u0000`;
      for (const key of this.flights.keys()) if (key.startsWith(prefix)) this.flights.delete(key);
    }
    const keys = this.byServer.get(server);
    if (!keys || keys.size === 0) return;
    this.counters.invalidations++;
    for (const key of [...keys]) this.lru.delete(key);
  }

  clear(): void {
    for (const server of this.byServer.keys()) this.invalidateLocal(server);
  }

  /** The cached result, a share of an identical call in flight, or a new downstream call via `run`. */
  async get(ctx: CallContext, run: Handler): Promise<CallToolResult> {
    const key = ResultCache.keyOf(ctx);
    if (this.shared) return await this.getShared(this.shared, key, ctx, run);
    const hit = this.lru.get(key);
    if (hit !== undefined) {
      this.counters.hits++;
      ctx.cacheOutcome = "hit";
      return hit;
    }
    const signal = ctx.signal; // the caller's own: start() gives ctx the shared call's signal
    let flight = this.flights.get(key);
    if (flight) {
      this.counters.coalesced++;
      ctx.cacheOutcome = "coalesced";
    } else {
      this.counters.misses++;
      ctx.cacheOutcome = "miss";
      flight = this.start(key, ctx, run);
    }
    return await this.wait(flight, signal, ctx.route.server);
  }

  /** Cluster mode: a call in flight here, else the shared entry, else a new call whose result is shared. */
  private async getShared(
    shared: SharedCacheStore,
    key: string,
    ctx: CallContext,
    run: Handler,
  ): Promise<CallToolResult> {
    const signal = ctx.signal;
    const server = ctx.route.server;
    let flight = this.flights.get(key);
    if (!flight) {
      const found = await shared.get(key, server).catch((error: unknown) => {
        ctx.log.debug({ err: String(error) }, "shared cache lookup failed: calling the server");
        return undefined;
      });
      if (found?.result !== undefined) {
        this.counters.hits++;
        ctx.cacheOutcome = "hit";
        return found.result;
      }
      flight = this.flights.get(key); // an identical call may have started while we asked Redis
      if (!flight) {
        this.counters.misses++;
        ctx.cacheOutcome = "miss";
        return await this.wait(this.start(key, ctx, run, found?.generation), signal, server);
      }
    }
    this.counters.coalesced++;
    ctx.cacheOutcome = "coalesced";
    return await this.wait(flight, signal, server);
  }

  private start(key: string, ctx: CallContext, run: Handler, sharedGeneration?: string): Flight {
    const server = ctx.route.server;
    const generation = this.generation.get(server) ?? 0;
    const controller = new AbortController();
    ctx.signal = controller.signal; // the shared call lives until its last waiter leaves
    const promise = run(ctx);
    const flight: Flight = { key, promise, controller, waiters: 0 };
    this.flights.set(key, flight);
    const settle = (result?: CallToolResult): void => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      if (!result || result.isError === true || (this.generation.get(server) ?? 0) !== generation) return;
      if (this.shared) {
        if (sharedGeneration !== undefined)
          this.shared
            .set(key, server, result, ctx.route.policy.cacheTtlMs, sharedGeneration)
            .catch((error: unknown) => ctx.log.debug({ err: String(error) }, "shared cache store failed"));
        return;
      }
      this.lru.set(key, result, { ttl: ctx.route.policy.cacheTtlMs });
      if (this.lru.has(key)) this.index(server, key);
    };
    promise.then(settle, () => settle());
    return flight;
  }

  private async wait(flight: Flight, signal: AbortSignal, server: string): Promise<CallToolResult> {
    flight.waiters++;
    let stopWatching: (() => void) | undefined;
    try {
      signal.throwIfAborted();
      const aborted = new Promise<never>((_, reject) => {
        stopWatching = onAbort(signal, () => reject(signal.reason as Error));
      });
      return await Promise.race([flight.promise, aborted]);
    } catch (error) {
      if (!signal.aborted) throw error;
      if (flight.waiters === 1) {
        // The last waiter left: stop the downstream call, and let nobody new join it.
        if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
        flight.controller.abort(signal.reason);
      }
      throw new AggregatorError("CANCELLED", "the call was cancelled", {
        cause: signal.reason,
        details: { server },
      });
    } finally {
      stopWatching?.();
      flight.waiters--;
    }
  }

  private index(server: string, key: string): void {
    let keys = this.byServer.get(server);
    if (!keys) this.byServer.set(server, (keys = new Set()));
    keys.add(key);
  }

  private unindex(key: string): void {
    const server = key.slice(0, key.indexOf("\u0000"));
    this.byServer.get(server)?.delete(key);
  }
}

/**
 * Serves read-only tools that opted in from the cache, sharing concurrent identical calls; every
 * non-read-only call invalidates its server's entries before and after it runs. Sets ctx.cacheOutcome.
 */
export function createCacheLayer(cache: ResultCache): Middleware {
  return (next) =>
    async function cacheLayer(ctx): Promise<CallToolResult> {
      const { policy, server } = ctx.route;
      if (policy.hints.readOnly) return await (policy.cacheTtlMs > 0 ? cache.get(ctx, next) : next(ctx));
      // Cluster mode, a server with cached tools: the shared entries must be gone before the write runs.
      const before = cache.invalidateServer(server);
      if (before) await before;
      try {
        return await next(ctx);
      } finally {
        cache
          .invalidateServer(server)
          ?.catch((error: unknown) =>
            ctx.log.warn({ err: String(error) }, "shared cache: could not drop entries after a write"),
          );
      }
    };
}
