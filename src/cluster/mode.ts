import type { LoadedConfig } from "../config/load.js";
import type { Logger } from "../logger.js";
import type { AggregatorOptions } from "../aggregatorOptions.js";
import { STATE_KEY_ENV } from "../bridge/state.js";
import type { ServerEventBus } from "../front/events.js";
import { clusterOptions } from "./settings.js";
import type { ClusterMode } from "./start.js";
import type { Replicas } from "./replicas.js";

/** What cluster mode adds to a serving process; nothing at all (and no Redis code loaded) without it. */
export interface ClusterWiring {
  readonly cluster: ClusterMode;
  /** Several HTTP replicas: sessions, change events and stateful servers' owners (src/cluster/replicas.ts). */
  readonly replicas: Replicas | undefined;
  /** The createAggregator options cluster mode sets. */
  readonly aggregatorOptions: Pick<
    AggregatorOptions,
    "cluster" | "shared" | "requestStateKey" | "placement" | "bus"
  >;
}

/**
 * Starts cluster mode when a Redis URL is given (--redis, $AUTONOMOUS_MCP_REDIS_URL or cluster.redisUrl):
 * the Redis connections and shared requestState key (src/cluster/start.ts), then, over HTTP, the replica
 * sharing. The shared key from Redis is used unless one is configured (then every replica has that one).
 */
export async function startClusterWiring(
  loaded: LoadedConfig,
  options: {
    readonly redisUrl: string | undefined;
    readonly env: NodeJS.ProcessEnv | undefined;
    readonly transport: string;
    readonly bus: ServerEventBus | undefined;
    readonly signal: AbortSignal | undefined;
  },
  log: Logger,
): Promise<ClusterWiring | undefined> {
  const settings = clusterOptions(loaded.config.cluster, options.redisUrl, options.env);
  if (!settings) return undefined;
  const cluster = await (await import("./start.js")).startClusterMode(settings, log, options.signal);
  const replicas =
    options.transport === "http"
      ? await (
          await import("./replicas.js")
        ).startReplicas(cluster.state, log, { ownerLeaseMs: loaded.config.cluster.ownerLeaseMs })
      : undefined;
  const env = options.env ?? process.env;
  const configured = !!env[STATE_KEY_ENV] || loaded.config.security.requestStateKey !== undefined;
  return {
    cluster,
    replicas,
    aggregatorOptions: {
      cluster: cluster.state,
      shared: cluster.stores,
      ...(configured ? {} : { requestStateKey: cluster.requestStateKey }),
      ...(replicas ? { placement: replicas.placement } : {}),
      ...((replicas?.bus ?? options.bus) ? { bus: replicas?.bus ?? options.bus } : {}),
    },
  };
}
