import type { Logger } from "../logger.js";
import { ClusterState } from "./connection.js";
import type { ClusterOptions } from "./settings.js";

export { ClusterState, clusterUnavailable, type ClusterHealth, type ClusterStatus } from "./connection.js";
export { clusterOptions, redactedUrl, redisUrlOf, REDIS_URL_ENV, type ClusterOptions } from "./settings.js";

/**
 * A cluster-mode replica's Redis connections. ioredis is loaded here, and only here, so embedded mode
 * never loads it. The connections start at once; a Redis that is down now is retried forever in the
 * background (status() says so, /readyz reports it).
 */
export async function openCluster(options: ClusterOptions, log: Logger): Promise<ClusterState> {
  // Bundled (dist/chunks), ioredis is CommonJS behind esbuild's interop: its named exports sit on `default`.
  const mod = await import("ioredis");
  const Redis = mod.Redis ?? (mod.default as unknown as { Redis: typeof mod.Redis }).Redis;
  const state = new ClusterState(Redis, options, log);
  state.connect().catch(() => undefined); // reported through status(); ioredis keeps reconnecting
  return state;
}
