import type { Aggregator } from "../aggregator.js";
import { AGGREGATOR_SERVER } from "../router.js";
import { VERSION } from "../version.js";
import type { Activity, RecentCall, WorkflowRun } from "./activity.js";
import type { WindowStats } from "./window.js";

/** The newest protocol revision: a server speaking it is "modern" (no sessions), older ones "legacy". */
const MODERN_PROTOCOL = "2026-07-28";

export interface ServerRow {
  readonly name: string;
  /** starting | ready | restarting | failed | stopped | skipped | not started */
  readonly state: string;
  /**
   * How the row is shown: "down" (red) when the server is restarting, failed or stopped, or its breaker
   * is open; "degraded" when the breaker is half-open; "starting"; "skipped"; else "up".
   */
  readonly health: Health;
  readonly skipReason?: string;
  readonly since?: string;
  readonly protocolVersion?: string;
  readonly generation?: "legacy" | "modern";
  readonly tools: number;
  readonly breaker: string;
  readonly breakerRetryAt?: string;
  /** Seconds until the open breaker lets a call through again. */
  readonly retryAfterS?: number;
  readonly restarts: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Over the last `windowMinutes`. */
  readonly recent: WindowStats;
  readonly lastError?: { readonly message: string; readonly at: string };
}

export interface DashboardState {
  readonly at: string;
  readonly version: string;
  readonly windowMinutes: number;
  readonly servers: readonly ServerRow[];
  /** Meta-tools and workflows, counted under the pseudo-server "autonomous-mcp". */
  readonly builtin: WindowStats;
  readonly tools: number;
  readonly calls: readonly ShownCall[];
  readonly failures: readonly ShownCall[];
  readonly workflows: readonly ShownRun[];
}

export type ShownCall = Omit<RecentCall, "at" | "durationMs"> & { at: string; durationMs: number };
export type ShownRun = Omit<WorkflowRun, "startedAt"> & { startedAt: string };

export type Health = "up" | "degraded" | "starting" | "down" | "skipped";

function healthOf(state: string, breaker: string): Health {
  if (state === "skipped") return "skipped";
  if (state === "restarting" || state === "failed" || state === "stopped" || breaker === "open")
    return "down";
  if (state === "starting" || state === "not started") return "starting";
  return breaker === "halfOpen" ? "degraded" : "up";
}

const NO_CALLS: WindowStats = { calls: 0, errors: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 };

/** Everything the dashboard page shows, as JSON (GET /dashboard/state.json). Error texts are scrubbed. */
export function dashboardState(
  agg: Aggregator,
  activity: Activity,
  scrub: (text: string) => string,
  now = Date.now(),
): DashboardState {
  const servers = agg.serverList().map((s): ServerRow => {
    const c = agg.pool.get(s.name);
    const limiter = c ? agg.limiterFor(s.name) : undefined;
    const breaker = agg.breakers.stateOf(s.name);
    const retryAt = agg.breakers.retryAt(s.name);
    const since = c ? agg.startup.sinceOf(s.name) : undefined;
    const state = s.skipReason !== undefined ? "skipped" : (c?.state ?? "not started");
    const version = c?.protocolVersion;
    return {
      name: s.name,
      state,
      health: healthOf(state, breaker),
      ...(s.skipReason !== undefined ? { skipReason: s.skipReason } : {}),
      ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
      ...(version
        ? { protocolVersion: version, generation: version >= MODERN_PROTOCOL ? "modern" : "legacy" }
        : {}),
      tools: agg.catalog().toolsOf(s.name).length,
      breaker,
      ...(retryAt !== undefined
        ? {
            breakerRetryAt: new Date(retryAt).toISOString(),
            retryAfterS: Math.max(0, Math.ceil((retryAt - now) / 1000)),
          }
        : {}),
      restarts: c?.restarts ?? 0,
      inFlight: limiter?.inFlight ?? 0,
      queued: limiter?.queued ?? 0,
      recent: rounded(activity.window.stats(s.name, now)),
      ...lastErrorOf(agg, s.name, scrub),
    };
  });
  return {
    at: new Date(now).toISOString(),
    version: VERSION,
    windowMinutes: activity.window.windowMs / 60_000,
    servers,
    builtin: rounded(activity.window.stats(AGGREGATOR_SERVER, now)),
    tools: agg.catalog().tools.size,
    calls: activity.recentCalls().map(shownCall),
    failures: activity.recentFailures().map(shownCall),
    workflows: activity.workflowRuns().map((r) => ({
      ...r,
      startedAt: new Date(r.startedAt).toISOString(),
      ...(r.durationMs !== undefined ? { durationMs: round(r.durationMs) } : {}),
      steps: r.steps.map((t) => ({ ...t, durationMs: round(t.durationMs) })),
    })),
  };
}

/** The server's latest failure, a call's or its connection's, whichever is newer; scrubbed. */
function lastErrorOf(
  agg: Aggregator,
  server: string,
  scrub: (text: string) => string,
): { lastError?: { message: string; at: string } } {
  const call = agg.stats.snapshot(server)?.lastError;
  const conn = agg.pool.get(server)?.lastError;
  const latest = call && (!conn || call.at > conn.at) ? call : conn;
  return latest
    ? { lastError: { message: scrub(latest.message), at: new Date(latest.at).toISOString() } }
    : {};
}

function shownCall(c: RecentCall): ShownCall {
  return { ...c, at: new Date(c.at).toISOString(), durationMs: round(c.durationMs) };
}

function rounded(w: WindowStats | undefined): WindowStats {
  if (!w) return NO_CALLS;
  return {
    calls: w.calls,
    errors: w.errors,
    errorRate: Math.round(w.errorRate * 1000) / 1000,
    p50Ms: round(w.p50Ms),
    p99Ms: round(w.p99Ms),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
