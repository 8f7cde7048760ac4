import type { CallToolResult } from "@modelcontextprotocol/server";
import { errorMessage, isAggregatorError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { PIPELINE_ATTR } from "../../telemetry/semconv.js";
import type { CacheOutcome, CallContext, Middleware } from "../types.js";

export const OUTCOMES = [
  "ok",
  "tool_error",
  "rpc_error",
  "timeout",
  "breaker_open",
  "busy",
  "unavailable",
  "cancelled",
  "invalid",
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface CallEvent {
  /**
   * The call's request id (CallContext.requestId: the one the router gave it). Always set by observe;
   * optional only so that events built elsewhere (tests, replays) need not invent one.
   */
  readonly requestId?: string | undefined;
  readonly server: string;
  readonly tool: string;
  /** The HTTP principal of the caller; undefined on stdio. */
  readonly principal?: string | undefined;
  readonly outcome: Outcome;
  readonly durationMs: number;
  /** Attempts started (CallContext.attempts, set by retry); 0 when the call never reached retry. */
  readonly attempts: number;
  /** How cache served the call (CallContext.cacheOutcome); undefined for a tool that is not cached. */
  readonly cache: CacheOutcome | undefined;
  // Set by the observe layer (optional for hand-made events): for the dashboard and the audit log.
  /** When the call ended, epoch ms. */
  readonly at?: number;
  /** The call: public name, session, request id, arguments. */
  readonly ctx?: CallContext;
  /** The failure's text (raw: scrub before showing it); undefined for "ok". */
  readonly error?: string | undefined;
  /** What the call settled with: its result, or the error it threw. */
  readonly settled?: unknown;
}

export interface ServerCallStats {
  readonly calls: number;
  /** isError results plus thrown failures, except the caller's own cancellations. */
  readonly errors: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Over the last `window` calls; 0 before the first. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The latest failure's text (raw: scrub before showing it to clients) and its outcome. */
  readonly lastError:
    { readonly message: string; readonly at: number; readonly outcome?: Outcome } | undefined;
}

export interface CallStatsOptions {
  /** Durations kept per server for percentiles. Default 1000. */
  readonly window?: number;
  /** Called once per finished call (metrics). */
  readonly onCall?: ((event: CallEvent) => void) | undefined;
  /** Wall clock for lastError.at. Default Date.now. */
  readonly now?: (() => number) | undefined;
}

class ServerCounters {
  calls = 0;
  errors = 0;
  readonly outcomes: Record<Outcome, number> = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<
    Outcome,
    number
  >;
  readonly durations: Float64Array;
  next = 0;
  filled = 0;
  lastError: { message: string; at: number; outcome: Outcome } | undefined;

  constructor(window: number) {
    this.durations = new Float64Array(window);
  }
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

/** Per-server call counters and latency percentiles. Recording is O(1) and allocation-free. */
export class CallStats {
  /** Called once per finished call; set when metrics are wanted (no event object is built otherwise). */
  onCall: ((event: CallEvent) => void) | undefined;
  private readonly servers = new Map<string, ServerCounters>();
  private readonly window: number;
  private readonly now: () => number;

  constructor(options: CallStatsOptions = {}) {
    this.window = Math.max(1, options.window ?? 1000);
    this.onCall = options.onCall;
    this.now = options.now ?? Date.now;
  }

  record(server: string, outcome: Outcome, durationMs: number, error?: string): void {
    let c = this.servers.get(server);
    if (!c) this.servers.set(server, (c = new ServerCounters(this.window)));
    c.calls++;
    c.outcomes[outcome]++;
    // A caller's own cancellation is counted (outcomes.cancelled) but is not the server's error.
    if (outcome !== "ok" && outcome !== "cancelled") {
      c.errors++;
      if (error !== undefined) c.lastError = { message: error, at: this.now(), outcome };
    }
    c.durations[c.next] = durationMs;
    c.next = (c.next + 1) % c.durations.length;
    if (c.filled < c.durations.length) c.filled++;
  }

  /** Percentiles are computed here (copy + sort of at most `window` numbers), never on the hot path. */
  snapshot(server: string): ServerCallStats | undefined {
    const c = this.servers.get(server);
    if (!c) return undefined;
    const sorted = c.durations.slice(0, c.filled).sort();
    return {
      calls: c.calls,
      errors: c.errors,
      outcomes: { ...c.outcomes },
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      lastError: c.lastError ? { ...c.lastError } : undefined,
    };
  }

  snapshotAll(): Record<string, ServerCallStats> {
    const out: Record<string, ServerCallStats> = {};
    for (const server of this.servers.keys()) out[server] = this.snapshot(server) as ServerCallStats;
    return out;
  }
}

/** The outcome label of a thrown failure. */
export function outcomeOfError(err: unknown): Outcome {
  if (isAggregatorError(err)) {
    switch (err.code) {
      case "DOWNSTREAM_TIMEOUT":
        return "timeout";
      case "BREAKER_OPEN":
        return "breaker_open";
      case "SERVER_BUSY":
        return "busy";
      case "SERVER_UNAVAILABLE":
        return "unavailable";
      case "CANCELLED":
        return "cancelled";
      case "INVALID_ARGUMENTS":
      case "UNKNOWN_TOOL":
        return "invalid";
      default:
        return "rpc_error";
    }
  }
  return "rpc_error"; // a downstream JSON-RPC error, or something unexpected (the edge sends -32603)
}

function resultText(result: CallToolResult): string {
  const first = result.content?.[0];
  return first && first.type === "text" ? first.text.slice(0, 500) : "tool returned isError";
}

/**
 * Outermost layer: binds ctx.log to {server, tool} (+ reqId = ctx.requestId when debug logging is on),
 * times the call, counts its outcome once (cache hits and fast failures included) and rethrows failures
 * for the edge to map. Reads the typed fields the inner layers own: invalid, cacheOutcome, attempts.
 */
export function createObserveLayer(stats: CallStats, rootLogger: Logger): Middleware {
  // Per-route loggers (server, tool, principal: principals come from the config, so they are few) are
  // made once; the per-call child with the request id only when debug logging is on — a pino child per
  // call is measurable on the hot path, and a logger cached per route would keep its level when the root
  // level changes at run time.
  const routeLoggers = new WeakMap<object, Map<string | undefined, Logger>>();
  const loggerFor = (ctx: CallContext): Logger => {
    const { server, originalName: tool } = ctx.route;
    const principal = ctx.principal;
    let byPrincipal = routeLoggers.get(ctx.route);
    if (!byPrincipal) routeLoggers.set(ctx.route, (byPrincipal = new Map()));
    let routeLog = byPrincipal.get(principal);
    if (!routeLog) {
      routeLog = rootLogger.child(principal === undefined ? { server, tool } : { server, tool, principal });
      byPrincipal.set(principal, routeLog);
    }
    return routeLog.isLevelEnabled("debug") ? routeLog.child({ reqId: ctx.requestId }) : routeLog;
  };
  const finish = (
    ctx: CallContext,
    started: number,
    outcome: Outcome,
    failure: string | undefined,
    settled: unknown,
  ): void => {
    const { server, originalName: tool } = ctx.route;
    const durationMs = performance.now() - started;
    stats.record(server, outcome, durationMs, failure);
    const span = ctx.trace;
    if (span !== undefined && span.live) {
      if (ctx.cacheOutcome !== undefined) span.set(PIPELINE_ATTR.cache, ctx.cacheOutcome);
      if (ctx.attempts > 0) span.set(PIPELINE_ATTR.retryAttempt, ctx.attempts);
    }
    if (stats.onCall) {
      stats.onCall({
        requestId: ctx.requestId,
        server,
        tool,
        principal: ctx.principal,
        outcome,
        durationMs,
        attempts: ctx.attempts,
        cache: ctx.cacheOutcome,
        at: Date.now(),
        ctx,
        error: failure,
        settled,
      });
    }
    if (ctx.log.isLevelEnabled("debug")) {
      ctx.log.debug(
        { durationMs, outcome, attempts: ctx.attempts, cache: ctx.cacheOutcome, err: failure },
        outcome === "ok" ? "call ok" : "call failed",
      );
    }
  };
  return (next) =>
    async function observeLayer(ctx): Promise<CallToolResult> {
      ctx.log = loggerFor(ctx);
      const started = performance.now();
      let result: CallToolResult;
      try {
        result = await next(ctx);
      } catch (error) {
        finish(ctx, started, outcomeOfError(error), errorMessage(error), error);
        throw error;
      }
      if (result.isError !== true) finish(ctx, started, "ok", undefined, result);
      else finish(ctx, started, ctx.invalid ? "invalid" : "tool_error", resultText(result), result);
      return result;
    };
}
