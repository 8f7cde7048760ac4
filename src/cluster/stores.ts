import type { ClusterSettings } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { SharedState } from "../pipeline/shared.js";
import { RedisBreakerShare } from "./breakers.js";
import { RedisCacheStore } from "./cache.js";
import type { ClusterState } from "./connection.js";
import { RedisIdempotencyStore } from "./idempotency.js";
import { RedisRateLimits } from "./rateLimits.js";

/** Cluster mode's implementation of every pipeline seam (src/pipeline/shared.ts), over one ClusterState. */
export interface ClusterStores extends SharedState {
  readonly breakers: RedisBreakerShare;
}

export function clusterStores(
  state: ClusterState,
  settings: Pick<ClusterSettings, "idempotency" | "rateLimits">,
  log: Logger,
): ClusterStores {
  const { perClient, perServer } = settings.rateLimits;
  return {
    idempotency: new RedisIdempotencyStore(state, settings.idempotency),
    rateLimits: perClient || perServer ? new RedisRateLimits(state, { perClient, perServer }) : undefined,
    cache: new RedisCacheStore(state),
    breakers: new RedisBreakerShare(state, log),
  };
}
