import type { BreakerShare } from "./middleware/breakerShare.js";
import type { SharedCacheStore } from "./middleware/cacheShare.js";
export { cachedServers } from "./middleware/cacheShare.js";
import type { ClusterSettings } from "../config/schema.js";
import type { IdempotencySettings, IdempotencyStore } from "./middleware/idempotency.js";
import { MemoryIdempotencyStore } from "./middleware/idempotencyMemory.js";
import { MemoryRateLimits, type RateLimitStore } from "./middleware/rateLimit.js";

/**
 * The state the pipeline's layers keep beyond one call, behind one seam each: in this process by default
 * (each layer's in-memory implementation), in Redis in cluster mode (src/cluster/stores.ts). Nothing
 * else knows which is in use. docs/adr/0022-cluster-state.md.
 */
export interface SharedState {
  /** Idempotency records (default: MemoryIdempotencyStore). */
  readonly idempotency?: IdempotencyStore | undefined;
  /** Rate-limit buckets (default: MemoryRateLimits over cluster.rateLimits; none when no limit is set). */
  readonly rateLimits?: RateLimitStore | undefined;
  /** The result cache's entries (default: the cache's own LRU). */
  readonly cache?: SharedCacheStore | undefined;
  /** Breakers of the other replicas (default: none, each process has its own). */
  readonly breakers?: BreakerShare | undefined;
}

/** What buildPipeline needs of the shared state: the stores in force, embedded defaults filled in. */
export interface PipelineState {
  readonly idempotency: IdempotencyStore;
  readonly idempotencySettings: IdempotencySettings;
  readonly rateLimits: RateLimitStore | undefined;
}

/** The stores in force: the given ones (cluster mode), else this process's own over the `cluster` settings. */
export function pipelineState(
  shared: SharedState,
  settings: Pick<ClusterSettings, "idempotency" | "rateLimits">,
  replicaId = "local",
): PipelineState {
  const { perClient, perServer } = settings.rateLimits;
  return {
    idempotency: shared.idempotency ?? new MemoryIdempotencyStore(settings.idempotency),
    idempotencySettings: { waitMs: settings.idempotency.waitMs, replicaId },
    rateLimits:
      shared.rateLimits ??
      (perClient || perServer ? new MemoryRateLimits({ perClient, perServer }) : undefined),
  };
}
