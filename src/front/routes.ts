import type { IncomingMessage, ServerResponse } from "node:http";
import type { Aggregator } from "../aggregator.js";
import { metricsHandler, type Metrics } from "../metrics.js";
import type { ClusterState } from "../cluster/connection.js";

type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * /healthz (process alive), /readyz (a server is ready, and in cluster mode Redis is reachable; JSON of
 * every server and of the cluster link), /metrics (Prometheus).
 */
export function operationalRoutes(
  agg: Aggregator,
  metrics: Metrics,
  sessions: () => number,
  sessionsByPrincipal?: () => Readonly<Record<string, number>>,
  cluster?: ClusterState,
): Record<string, Route> {
  const scrape = metricsHandler(metrics);
  return {
    "/healthz": (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    },
    "/readyz": (_req, res) => {
      const servers = agg.serverList().map((s) => {
        const c = agg.pool.get(s.name);
        return {
          name: s.name,
          state: s.skipReason !== undefined ? "skipped" : (c?.state ?? "not started"),
          breaker: agg.breakers.stateOf(s.name),
        };
      });
      // Cluster mode: not ready while Redis is unreachable (the load balancer sends calls elsewhere).
      const shared = cluster && { replica: cluster.replicaId, ...cluster.status() };
      const ready =
        servers.some((s) => s.state === "ready") && (shared === undefined || shared.state === "ready");
      res
        .writeHead(ready ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify(shared ? { ready, servers, cluster: shared } : { ready, servers }));
    },
    "/metrics": async (req, res) => {
      metrics.setSessions(sessions());
      if (sessionsByPrincipal) metrics.setPrincipalSessions(sessionsByPrincipal());
      await scrape(req, res);
    },
  };
}
