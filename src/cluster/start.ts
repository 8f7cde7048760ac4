import type { Logger } from "../logger.js";
import { errorMessage } from "../errors.js";
import type { ClusterState } from "./connection.js";
import { openCluster } from "./index.js";
import type { ClusterOptions } from "./settings.js";
import { redactedUrl } from "./settings.js";
import { reassertRequestStateKey, sharedRequestStateKey } from "./stateKey.js";
import { clusterStores, type ClusterStores } from "./stores.js";

export interface ClusterMode {
  readonly state: ClusterState;
  /** The requestState sealing key every replica shares (src/cluster/stateKey.ts). */
  readonly requestStateKey: Uint8Array;
  /** The pipeline's seams in Redis (breakers, cache, idempotency, rate limits). */
  readonly stores: ClusterStores;
}

/**
 * Opens a cluster-mode replica's Redis connections and reads the shared requestState key. Start-up
 * waits for Redis (reconnecting with backoff, a warning per failure) because the key is needed before
 * anything is served; `signal` (a shutdown request) ends the wait. After start-up, a Redis outage never
 * stops the replica: /readyz says not ready and calls that need shared state fail until it is back.
 */
export async function startClusterMode(
  options: ClusterOptions,
  log: Logger,
  signal?: AbortSignal,
): Promise<ClusterMode> {
  log.info(
    { redis: redactedUrl(options.redisUrl), replica: options.replicaId, keyPrefix: options.keyPrefix },
    "cluster mode: connecting to redis",
  );
  const state = await openCluster(options, log);
  try {
    for (;;) {
      await state.whenReady(signal);
      try {
        const requestStateKey = await sharedRequestStateKey(state);
        state.onReconnect(() => {
          reassertRequestStateKey(state, requestStateKey, (message) => log.warn(message)).catch(
            (error: unknown) =>
              log.warn({ err: errorMessage(error) }, "cluster: could not check the requestState key"),
          );
        });
        return { state, requestStateKey, stores: clusterStores(state, options, log) };
      } catch (error) {
        if (signal?.aborted) throw error;
        log.warn(
          { err: errorMessage(error) },
          "cluster mode: could not read the shared requestState key; retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, options.reconnect.minDelayMs));
      }
    }
  } catch (error) {
    await state.close();
    throw error;
  }
}
