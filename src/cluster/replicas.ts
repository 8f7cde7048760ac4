import type { ServerEvent } from "@modelcontextprotocol/server";
import type { Aggregator } from "../aggregator.js";
import type { CallPlacement } from "../aggregatorOptions.js";
import { toolErrorToResult } from "../front/errorMap.js";
import type { Logger } from "../logger.js";
import { ClusterChannels, type ClusterLink } from "./channels.js";
import { RedisEventBus } from "./events.js";
import { OwnerLeases } from "./owners.js";
import { ClusterSessions } from "./sessions.js";

/**
 * What several replicas of the HTTP front share beyond the cluster state itself
 * (docs/adr/0023-sessions-across-replicas.md): legacy sessions (`sessions`, for the HTTP front), change
 * events (`bus`, for the aggregator and the 2026-07-28 listen streams) and the owner of each stateful
 * server (`placement`, for the aggregator). `attach` binds them to the aggregator once it is made.
 */
export interface Replicas {
  readonly sessions: ClusterSessions;
  readonly bus: RedisEventBus;
  readonly placement: CallPlacement;
  attach(aggregator: Aggregator): Promise<void>;
  close(): Promise<void>;
}

export async function startReplicas(
  link: ClusterLink,
  log: Logger,
  options: { readonly ownerLeaseMs: number },
): Promise<Replicas> {
  const channels = new ClusterChannels(link, log);
  let aggregator: Aggregator | undefined;
  let leases: OwnerLeases | undefined;
  const sessions = await ClusterSessions.create(channels, log);
  // Another replica's change: this replica's 2025-era sessions hear it too (its own catalog told them nothing).
  const bus = await RedisEventBus.create(channels, log, (event) => {
    for (const session of aggregator?.relay.sessionList() ?? []) {
      if (event.kind === "resource_updated") session.notifyResourceUpdated(event.uri);
      else session.notifyListChanged(listOf(event));
    }
  });
  const placement: CallPlacement = ({ server, write, name, args, origin }, here) => {
    if (!write || !leases || aggregator?.serverOf(server).serializeWrites !== true) return undefined;
    if (leases.ownsNow(server)) return undefined;
    return leases.forward(server, name, args, origin.meta, origin.signal, origin.principal).then(
      (result) => result ?? here(),
      (error: unknown) => toolErrorToResult(error, name),
    );
  };
  return {
    sessions,
    bus,
    placement,
    async attach(agg) {
      aggregator = agg;
      leases = await OwnerLeases.create(channels, log, {
        ttlMs: options.ownerLeaseMs,
        servers: () =>
          agg
            .serverList()
            .filter((s) => s.serializeWrites && s.skipReason === undefined)
            .map((s) => s.name),
        timeoutOf: (server) => agg.serverOf(server).timeoutMs,
        run: (name, args, meta, signal, principal) =>
          agg.callTool(
            name,
            args,
            { sessionId: "cluster:forwarded", signal, clientCapabilities: undefined, meta, principal },
            undefined,
            true,
          ),
      });
    },
    async close() {
      leases?.close();
      bus.close();
      channels.close();
    },
  };
}

function listOf(
  event: Exclude<ServerEvent, { kind: "resource_updated" }>,
): "tools" | "resources" | "prompts" {
  return event.kind === "tools_list_changed"
    ? "tools"
    : event.kind === "prompts_list_changed"
      ? "prompts"
      : "resources";
}
