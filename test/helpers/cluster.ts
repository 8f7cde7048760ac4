import { DEFAULTS } from "../../src/config/defaults.js";
import { clusterSettingsSchema } from "../../src/config/clusterSchema.js";
import { openCluster, type ClusterState } from "../../src/cluster/index.js";
import type { ClusterOptions } from "../../src/cluster/settings.js";
import { silentLogger } from "./pipeline.js";

/** Cluster options for tests: the schema's defaults, this Redis, a unique key prefix and replica id. */
export function testClusterOptions(
  url: string,
  replicaId: string,
  overrides: Record<string, unknown> = {},
): ClusterOptions {
  const settings = clusterSettingsSchema.parse({
    keyPrefix: `${DEFAULTS.cluster.keyPrefix}t${process.pid}:`,
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    ...overrides,
  });
  return { ...settings, redisUrl: url, replicaId };
}

/** An opened replica connection, once both links are ready. */
export async function connectedCluster(options: ClusterOptions): Promise<ClusterState> {
  const state = await openCluster(options, silentLogger);
  await state.whenReady(AbortSignal.timeout(10_000));
  return state;
}
