import type { IncomingMessage, ServerResponse } from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { OperationMetrics } from "./telemetry/operationMetrics.js";

/**
 * Prometheus metrics of one aggregator. Every metric lives on this instance's own Registry (never
 * prom-client's global one), so two aggregators in one process, or two tests, never share series.
 */

/** One finished call, as the observe layer reports it. */
export type { CallEvent } from "./pipeline/middleware/observe.js";
import type { CallEvent } from "./pipeline/middleware/observe.js";

export type BreakerState = "closed" | "open" | "halfOpen";

export interface GaugeSnapshot {
  readonly inflight: Readonly<Record<string, number>>;
  readonly queued: Readonly<Record<string, number>>;
}

export interface MetricsOptions {
  /** Read at scrape time for amcp_inflight_calls and amcp_queued_calls. Default: no such series. */
  readonly gauges?: (() => GaugeSnapshot) | undefined;
  /** Register prom-client's default process metrics (prefix "amcp_"). Default true. */
  readonly defaultMetrics?: boolean | undefined;
}

/** Call duration buckets, seconds: 1 ms to 60 s. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const BREAKER_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, halfOpen: 1, open: 2 };

export class Metrics {
  readonly registry = new Registry();
  /** mcp.server/client.operation.duration (semantic conventions), fed by Telemetry (src/telemetry). */
  readonly operations: OperationMetrics;
  private readonly calls: Counter<"server" | "tool" | "outcome">;
  private readonly duration: Histogram<"server" | "outcome">;
  private readonly breaker: Gauge<"server">;
  private readonly retries: Counter<"server">;
  private readonly restarts: Counter<"server">;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly sessions: Gauge;
  private readonly serverUp: Gauge<"server">;
  private readonly principalCalls: Counter<"principal" | "outcome">;
  private readonly principalSessions: Gauge<"principal">;
  private readonly sessionEvents: Counter<"principal" | "event">;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.operations = new OperationMetrics(registers);
    this.calls = new Counter({
      name: "amcp_calls_total",
      help: "Tool calls routed to downstream servers, by outcome.",
      labelNames: ["server", "tool", "outcome"],
      registers,
    });
    this.duration = new Histogram({
      name: "amcp_call_duration_seconds",
      help: "Duration of a tool call including retries, seconds.",
      labelNames: ["server", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.breaker = new Gauge({
      name: "amcp_breaker_state",
      help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
      labelNames: ["server"],
      registers,
    });
    this.retries = new Counter({
      name: "amcp_retries_total",
      help: "Retried call attempts.",
      labelNames: ["server"],
      registers,
    });
    this.restarts = new Counter({
      name: "amcp_restarts_total",
      help: "Restarts of a downstream server.",
      labelNames: ["server"],
      registers,
    });
    this.cacheHits = new Counter({
      name: "amcp_cache_hits_total",
      help: "Calls answered by the result cache (including calls coalesced into one in flight).",
      registers,
    });
    this.cacheMisses = new Counter({
      name: "amcp_cache_misses_total",
      help: "Cacheable calls the result cache could not answer.",
      registers,
    });
    this.sessions = new Gauge({ name: "amcp_sessions", help: "Open front sessions.", registers });
    // Principal names come from the config (plus "default" and "anonymous"): the label is bounded.
    this.principalCalls = new Counter({
      name: "amcp_principal_calls_total",
      help: "Tool calls routed to downstream servers per HTTP principal, by outcome.",
      labelNames: ["principal", "outcome"],
      registers,
    });
    this.principalSessions = new Gauge({
      name: "amcp_principal_sessions",
      help: "Open HTTP sessions per principal.",
      labelNames: ["principal"],
      registers,
    });
    this.sessionEvents = new Counter({
      name: "amcp_session_events_total",
      help: "HTTP sessions opened, closed and refused (over a cap), per principal.",
      labelNames: ["principal", "event"],
      registers,
    });
    this.serverUp = new Gauge({
      name: "amcp_server_up",
      help: "1 when the downstream server is ready, else 0.",
      labelNames: ["server"],
      registers,
    });
    const read = options.gauges;
    if (read) {
      const inflight: Gauge<"server"> = new Gauge({
        name: "amcp_inflight_calls",
        help: "Calls in flight per server.",
        labelNames: ["server"],
        registers,
        collect: () => fill(inflight, read().inflight),
      });
      const queued: Gauge<"server"> = new Gauge({
        name: "amcp_queued_calls",
        help: "Calls waiting for a concurrency slot per server.",
        labelNames: ["server"],
        registers,
        collect: () => fill(queued, read().queued),
      });
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "amcp_" });
  }

  onCall(event: CallEvent): void {
    const { server, tool, outcome } = event;
    this.calls.inc({ server, tool, outcome });
    if (event.principal !== undefined) this.principalCalls.inc({ principal: event.principal, outcome });
    this.duration.observe({ server, outcome }, Math.max(0, event.durationMs) / 1000);
    if (event.attempts > 1) this.retries.inc({ server }, event.attempts - 1);
    if (event.cache === "hit" || event.cache === "coalesced") this.cacheHits.inc();
    else if (event.cache === "miss") this.cacheMisses.inc();
  }

  setBreaker(server: string, state: BreakerState): void {
    this.breaker.set({ server }, BREAKER_VALUES[state]);
  }

  incRestarts(server: string): void {
    this.restarts.inc({ server });
  }

  setServerUp(server: string, up: boolean): void {
    this.serverUp.set({ server }, up ? 1 : 0);
  }

  setSessions(n: number): void {
    this.sessions.set(n);
  }

  /** Open sessions per principal (read at scrape time). */
  setPrincipalSessions(counts: Readonly<Record<string, number>>): void {
    this.principalSessions.reset();
    for (const [principal, n] of Object.entries(counts)) this.principalSessions.set({ principal }, n);
  }

  sessionEvent(principal: string, event: "opened" | "closed" | "refused"): void {
    this.sessionEvents.inc({ principal, event });
  }

  /** Cluster mode: Redis round trips made for calls and whether the link is up, read at scrape time. */
  useCluster(cluster: { readonly roundTrips: number; readonly ready: boolean }): void {
    const registers = [this.registry];
    const trips: Counter = new Counter({
      name: "amcp_redis_round_trips_total",
      help: "Redis round trips on the command connection (cluster mode): the shared-state cost; divide by amcp_calls_total.",
      registers,
      collect: () => {
        trips.reset();
        trips.inc(cluster.roundTrips);
      },
    });
    const up: Gauge = new Gauge({
      name: "amcp_cluster_ready",
      help: "1 while this replica reaches Redis (cluster mode), else 0.",
      registers,
      collect: () => up.set(cluster.ready ? 1 : 0),
    });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Replaces a gauge's series with the snapshot (servers that went away disappear). */
function fill(gauge: Gauge<"server">, values: Readonly<Record<string, number>>): void {
  gauge.reset();
  for (const [server, n] of Object.entries(values)) gauge.set({ server }, n);
}

/** A node:http handler serving the exposition (GET and HEAD; anything else is 405). */
export function metricsHandler(
  metrics: Metrics,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async function serveMetrics(req, res) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("method not allowed\n");
      return;
    }
    try {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  };
}
