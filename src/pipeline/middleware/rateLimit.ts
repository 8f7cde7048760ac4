import type { CallToolResult } from "@modelcontextprotocol/server";
import { LRUCache } from "lru-cache";
import { AggregatorError } from "../../errors.js";
import type { Middleware } from "../types.js";
import { fullBucket, refill, type Bucket, type BucketSettings } from "../../tokenBucket.js";

export type { BucketSettings } from "../../tokenBucket.js";

export interface RateLimits {
  readonly perClient?: BucketSettings | undefined;
  readonly perServer?: BucketSettings | undefined;
}

/** A refused call: which limit, and when a token will be there. */
export interface RateRefusal {
  readonly limit: "client" | "server";
  readonly retryAfterMs: number;
}

/**
 * Where the buckets live: this process (MemoryRateLimits) or Redis in cluster mode
 * (src/cluster/rateLimits.ts, one Lua script, one round trip). take() consumes one token from the
 * client's bucket and one from the server's only when both have one (nothing half-taken).
 */
export interface RateLimitStore {
  readonly limits: RateLimits;
  take(client: string | undefined, server: string): Promise<RateRefusal | undefined>;
}

const waitFor = (tokens: number, s: BucketSettings): number =>
  Math.max(1, Math.ceil(((1 - tokens) / s.requestsPerSecond) * 1000));

/** The embedded mode's buckets (idle clients' buckets are dropped first past 10,000). */
export class MemoryRateLimits implements RateLimitStore {
  private readonly clients = new LRUCache<string, Bucket>({ max: 10_000 });
  private readonly servers = new Map<string, Bucket>();

  constructor(
    readonly limits: RateLimits,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  take(client: string | undefined, server: string): Promise<RateRefusal | undefined> {
    const now = this.now();
    const { perClient, perServer } = this.limits;
    const c = perClient && this.bucket(this.clients, client ?? "", perClient, now);
    const s = perServer && this.bucket(this.servers, server, perServer, now);
    if (c && perClient && refill(c, perClient, now) < 1)
      return Promise.resolve({ limit: "client", retryAfterMs: waitFor(c.tokens, perClient) });
    if (s && perServer && refill(s, perServer, now) < 1)
      return Promise.resolve({ limit: "server", retryAfterMs: waitFor(s.tokens, perServer) });
    if (c) c.tokens -= 1;
    if (s) s.tokens -= 1;
    return Promise.resolve(undefined);
  }

  private bucket(
    map: { get(k: string): Bucket | undefined; set(k: string, v: Bucket): unknown },
    key: string,
    s: BucketSettings,
    now: number,
  ): Bucket {
    let bucket = map.get(key);
    if (!bucket) map.set(key, (bucket = fullBucket(s, now)));
    return bucket;
  }
}

/**
 * Fails a call over its client's or its server's rate limit with RATE_LIMITED (naming the limit and
 * when to retry), before it takes a deadline, a retry loop or a slot. Only in the pipeline when a limit
 * is configured.
 */
export function createRateLimitLayer(store: RateLimitStore): Middleware {
  return (next) =>
    async function rateLimitLayer(ctx): Promise<CallToolResult> {
      const server = ctx.route.server;
      const refused = await store.take(ctx.client, server);
      if (refused) {
        const s = refused.limit === "client" ? store.limits.perClient : store.limits.perServer;
        const who = refused.limit === "client" ? `client ${ctx.client ?? "(anonymous)"}` : `server ${server}`;
        throw new AggregatorError(
          "RATE_LIMITED",
          `rate limit of ${who} reached (${s?.requestsPerSecond ?? 0} calls/s, burst ${s?.burst ?? 0}); retry in ${Math.ceil(refused.retryAfterMs / 1000)} s`,
          { details: { server, limit: refused.limit, retryAfterMs: refused.retryAfterMs } },
        );
      }
      return await next(ctx);
    };
}
