import type { Aggregator } from "../aggregator.js";
import type { ServerCallStats } from "../pipeline/middleware/observe.js";
import { AGGREGATOR_SERVER } from "../router.js";
import { collectSecrets, scrubForClients } from "../secrets.js";
import type { MetaTool } from "./types.js";
import { textAndStructured } from "./types.js";

/**
 * `status`: the health a Claude Desktop user can see without curl — per server state, breaker,
 * restarts, in-flight and queued calls, counters, latency percentiles, last error; cache hit rate.
 */
export function statusTool(agg: Aggregator): MetaTool {
  return {
    definition: {
      name: "status",
      title: "Aggregator status",
      description:
        'Health of every MCP server behind autonomous-mcp: state (a server still "starting" joins when ready; its tools then appear), protocol version it speaks, circuit breaker, restarts, calls in flight and queued, call and error counts, p50/p99 latency, last error; and the result cache\'s hit rate. Use it when a tool fails or seems slow.',
      inputSchema: { type: "object", properties: {} },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    call: async () => {
      const now = Date.now();
      // Every session sees this: error texts are shown scrubbed (the full text is in the operator's log).
      const secrets = collectSecrets(agg.config.servers);
      const servers = agg.serverList().map((s) => {
        const c = agg.pool.get(s.name);
        const stats = agg.stats.snapshot(s.name);
        const limiter = c ? agg.limiterFor(s.name) : undefined;
        const retryAt = agg.breakers.retryAt(s.name);
        const lastError = shownError(stats, c?.lastError, secrets);
        const since = c ? agg.startup.sinceOf(s.name) : undefined;
        return {
          name: s.name,
          state: s.skipReason !== undefined ? "skipped" : (c?.state ?? "not started"),
          ...(s.skipReason !== undefined ? { skipReason: s.skipReason } : {}),
          ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
          breaker: agg.breakers.stateOf(s.name),
          ...(retryAt !== undefined ? { breakerRetryAt: new Date(retryAt).toISOString() } : {}),
          tools: agg.catalog().toolsOf(s.name).length,
          restarts: c?.restarts ?? 0,
          inFlight: limiter?.inFlight ?? 0,
          queued: limiter?.queued ?? 0,
          calls: stats?.calls ?? 0,
          errors: stats?.errors ?? 0,
          p50Ms: round(stats?.p50Ms ?? 0),
          p99Ms: round(stats?.p99Ms ?? 0),
          ...(c?.connectMs !== undefined ? { connectMs: c.connectMs } : {}),
          // The generation it speaks: 2026-07-28 (modern, server/discover) or the version initialize agreed.
          ...(c?.protocolVersion !== undefined
            ? { protocolVersion: c.protocolVersion, era: c.modern ? "modern" : "legacy" }
            : {}),
          // HTTP front, per-client servers: how many client sessions have their own connection.
          ...(agg.isolation.isPerClient(s.name)
            ? { sessionMode: "per-client", clientConnections: agg.isolation.connections.count(s.name) }
            : {}),
          ...(lastError ? { lastError } : {}),
        };
      });
      // Meta-tool and workflow calls (this one included once it has finished), under the pseudo-server.
      const own = agg.stats.snapshot(AGGREGATOR_SERVER);
      const builtin = {
        name: AGGREGATOR_SERVER,
        calls: own?.calls ?? 0,
        errors: own?.errors ?? 0,
        p50Ms: round(own?.p50Ms ?? 0),
        p99Ms: round(own?.p99Ms ?? 0),
      };
      const cache = agg.cache.stats;
      const lookups = cache.hits + cache.misses;
      const structured = {
        servers,
        builtin,
        cache: { ...cache, hitRate: lookups === 0 ? 0 : round(cache.hits / lookups) },
        tools: agg.catalog().tools.size,
        at: new Date(now).toISOString(),
      };
      const lines = servers.map(
        (s) =>
          `${s.name}: ${s.state}${"skipReason" in s ? ` (${s.skipReason})` : ""}${pending(s, now)}${"protocolVersion" in s ? `, protocol ${s.protocolVersion} (${s.era})` : ""}, breaker ${s.breaker}, ${s.tools} tools, ${s.calls} calls, ${s.errors} errors, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, ${s.inFlight} in flight, ${s.queued} queued, ${s.restarts} restarts${s.lastError ? `; last error (${s.lastError.category}): ${s.lastError.message}` : ""}`,
      );
      lines.push(
        `${builtin.name} (meta-tools and workflows): ${builtin.calls} calls, ${builtin.errors} errors, p50 ${builtin.p50Ms} ms, p99 ${builtin.p99Ms} ms`,
      );
      lines.push(`cache: ${cache.hits} hits, ${cache.misses} misses (hit rate ${structured.cache.hitRate})`);
      return textAndStructured(lines.join("\n"), structured);
    },
  };
}

/** " since <ISO> (<n> s)" for a server that is starting or restarting: what a user is waiting for. */
function pending(s: { state: string; since?: string }, now: number): string {
  if ((s.state !== "starting" && s.state !== "restarting") || s.since === undefined) return "";
  return ` since ${s.since} (${Math.round((now - Date.parse(s.since)) / 1000)} s)`;
}

/**
 * The server's latest error as every client may see it: a category (the call's outcome — timeout,
 * rpc_error, tool_error, unavailable… — or "connection" for a failed start or restart) and the text
 * scrubbed of secrets and anything token-like. Never the raw text.
 */
function shownError(
  stats: ServerCallStats | undefined,
  connection: { readonly message: string; readonly at: number } | undefined,
  secrets: readonly string[],
): { category: string; message: string; at: string } | undefined {
  const call = stats?.lastError;
  const latest =
    call && (!connection || call.at > connection.at)
      ? { category: call.outcome ?? "call", message: call.message, at: call.at }
      : connection
        ? { category: "connection", message: connection.message, at: connection.at }
        : undefined;
  if (!latest) return undefined;
  return {
    category: latest.category,
    message: scrubForClients(latest.message, secrets),
    at: new Date(latest.at).toISOString(),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
