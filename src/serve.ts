import type { AddressInfo } from "node:net";
import { basename } from "node:path";
import type { ClientCapabilities } from "@modelcontextprotocol/server";
import { Aggregator, type StartSummary } from "./aggregator.js";
import type { LoadedConfig } from "./config/load.js";
import { AggregatorError } from "./errors.js";
import { isLoopbackHost } from "./front/hostCheck.js";
import { releaseStartupHeap } from "./heap.js";
import type { HttpFront } from "./front/http.js";
import type { ClusterState } from "./cluster/connection.js";
import { serveStdio } from "./front/stdio.js";
import type { LineServerTransport } from "./front/stdioTransport.js";
import { whenAborted, type Shutdown } from "./shutdown.js";
import type { CreatedTransport } from "./downstream/transports.js";
import type { ServerEventBus } from "./front/events.js";
import type { Logger } from "./logger.js";
import { ConfigReloader } from "./reload.js";
import { createAggregator } from "./compose.js";
import { VERSION } from "./version.js";
import { startObservers } from "./observers.js";
import { startClusterWiring } from "./cluster/mode.js";

/** How long calls in flight get to finish once a shutdown begins. */
const SHUTDOWN_GRACE_MS = 5_000;
/** How long the last spans get to reach the collector at shutdown. */
const TRACE_FLUSH_MS = 2_000;

export interface ServeOptions {
  readonly loaded: LoadedConfig;
  readonly log: Logger;
  readonly transport: "stdio" | "http";
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  /** Bearer token for the HTTP front (--auth-token / AUTONOMOUS_MCP_TOKEN): the principal "default". */
  readonly authToken?: string | undefined;
  /** Where ${VAR} in http.principals tokens is looked up. Default process.env. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Serve /metrics, /healthz and /readyz on this port too, apart from /mcp (HTTP mode). */
  readonly metricsPort?: number | undefined;
  /** Serve the dashboard on 127.0.0.1:N too (`--dashboard-port`; the only way to see it in stdio mode). */
  readonly dashboardPort?: number | undefined;
  /** One-line human messages (start-up summary, skips): stderr in the CLI. */
  readonly say: (line: string) => void;
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout?: NodeJS.WritableStream;
  /** Server processes the CLI already started (see downstream/prespawn.ts). */
  readonly prespawned?: Map<string, CreatedTransport>;
  /** Show start-up progress (servers connected n/N) on stderr: the CLI sets it when stderr is a TTY. */
  readonly progress?: boolean;
  /** Where progress goes (default: stderr; never stdout, which is the protocol in stdio mode). */
  readonly progressOut?: (text: string) => void;
  /** Watch the config file and reload on change / SIGHUP. Default true. */
  readonly watch?: boolean;
  /**
   * SIGINT/SIGTERM, installed by the CLI before anything started (src/shutdown.ts): `requested` stops
   * serving gracefully, at any moment of start-up too; `hurry` skips what is left of the grace period.
   */
  readonly shutdown?: Pick<Shutdown, "requested" | "hurry">;
  /** --redis URL (cluster mode); else $AUTONOMOUS_MCP_REDIS_URL, else cluster.redisUrl; none: embedded. */
  readonly redisUrl?: string | undefined;
  /** SIGKILLs every server's process group at once (a hurried shutdown does not wait for SIGTERM). */
  readonly killServers?: () => void;
  /** Change events of 2026-07-28 clients (src/front/events.ts); default in-process (replicas: shared). */
  readonly bus?: ServerEventBus | undefined;
}

export interface Running {
  readonly aggregator: Aggregator;
  readonly http?: HttpFront;
  readonly url?: string;
  /** Cluster mode: this replica's Redis connections. */
  readonly cluster?: ClusterState;
  /** Resolves when the front has ended (stdin closed in stdio mode). */
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

/** Builds the aggregator and serves it on the chosen front. */
export async function serve(options: ServeOptions): Promise<Running> {
  const { loaded, log, say } = options;
  // Prometheus metrics only on the HTTP front (prom-client loads only then); their gauges read the
  // aggregator's limiters when scraped.
  const metrics =
    options.transport === "http"
      ? new (await import("./metrics.js")).Metrics({
          gauges: () => {
            const inflight: Record<string, number> = {};
            const queued: Record<string, number> = {};
            for (const c of aggregator.pool.all()) {
              const limiter = aggregator.limiterFor(c.name);
              inflight[c.name] = limiter.inFlight;
              queued[c.name] = limiter.queued;
            }
            return { inflight, queued };
          },
        })
      : undefined;
  // Cluster mode (src/cluster/, loaded only then): Redis, the shared key, replicas' sharing.
  const wiring = await startClusterWiring(
    loaded,
    {
      redisUrl: options.redisUrl,
      env: options.env,
      transport: options.transport,
      bus: options.bus,
      signal: options.shutdown?.requested,
    },
    log,
  );
  const cluster = wiring?.cluster;
  const replicas = wiring?.replicas;
  if (cluster) metrics?.useCluster(cluster.state);
  const total = loaded.servers.filter((s) => s.skipReason === undefined).length;
  let settled = 0;
  const aggregator: Aggregator = createAggregator(loaded, {
    log,
    metrics,
    bus: options.bus,
    ...wiring?.aggregatorOptions,
    ...(options.prespawned ? { prespawned: options.prespawned } : {}),
    onServerSettled: options.progress
      ? (name, state) => {
          settled++;
          const write = options.progressOut ?? ((text: string) => void process.stderr.write(text));
          write(
            `\rautonomous-mcp: servers connected ${settled}/${total} (${name}: ${state})\x1b[K${settled === total ? "\n" : ""}`,
          );
        }
      : undefined,
  });
  cluster?.stores.breakers.attach(aggregator.breakers, () => aggregator.serverList().map((s) => s.name));
  // Traces only when the OTEL_* variables ask for them (the SDK is loaded only then): docs/observability.md.
  const tracing = await aggregator.telemetry.startTracing(options.env ?? process.env, {
    log,
    serviceVersion: VERSION,
  });
  if (tracing.on) log.info({ note: tracing.note }, "OpenTelemetry tracing on (OTLP/HTTP)");
  else if (tracing.note !== undefined) log.info({ note: tracing.note }, "OpenTelemetry tracing off");
  // The audit log and the dashboard (src/observers.ts); a bad audit.file rejects here, before any front.
  const observers = await startObservers({
    aggregator,
    workflows: aggregator.workflowHost,
    loaded,
    log,
    say,
    authToken: options.authToken,
    env: options.env,
    httpHost: options.transport === "http" ? (options.host ?? loaded.config.http.host) : undefined,
    dashboardPort: options.dashboardPort,
  });
  for (const warning of loaded.warnings) say(`autonomous-mcp: warning: ${warning}`);
  const skipped = loaded.servers.filter((s) => s.skipReason !== undefined);
  for (const s of skipped) say(`${s.name}: skipped (${s.skipReason})`);

  let stopping: Promise<void> | undefined;
  let endFront: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (endFront = resolve));
  const fronts: {
    http?: HttpFront;
    ops?: HttpFront;
    stdio?: LineServerTransport;
    /** The SDK's stdio entry: its close ends 2026-07-28 listen streams gracefully first. */
    stdioEntry?: { close(): Promise<void> };
  } = {};
  let reloader: ConfigReloader | undefined;
  const startWatching = (): void => {
    if (options.watch === false || stopping) return;
    reloader = new ConfigReloader({
      aggregator,
      path: loaded.path,
      log,
      onResult: (r) =>
        say(
          r.ok
            ? `autonomous-mcp: config reloaded (added: ${r.added.join(", ") || "none"}; removed: ${r.removed.join(", ") || "none"}; restarted: ${r.restarted.join(", ") || "none"})`
            : `autonomous-mcp: config change rejected, still running the previous one:\n${r.reason}`,
        ),
    });
    reloader.start();
  };
  const hurry = options.shutdown?.hurry;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      reloader?.stop();
      // Calls in flight (and, over stdio, requests not answered yet) get their grace period while the
      // fronts are still up to deliver the answers; a second signal ends it at once.
      await aggregator.drain(SHUTDOWN_GRACE_MS, {
        ...(hurry ? { hurry } : {}),
        busy: () => (fronts.stdio?.pendingRequests ?? 0) > 0,
      });
      await fronts.ops?.close();
      await fronts.http?.close();
      await fronts.stdioEntry?.close();
      await fronts.stdio?.close();
      const closing = aggregator.close();
      const undo = hurry && options.killServers ? whenAborted(hurry, options.killServers) : undefined;
      await closing;
      undo?.();
      await aggregator.telemetry.shutdown(hurry?.aborted === true ? 0 : TRACE_FLUSH_MS);
      await observers.close();
      await replicas?.close();
      await cluster?.state.close();
      endFront();
    })());
  if (options.shutdown) {
    const { requested } = options.shutdown;
    whenAborted(requested, () => {
      log.info({ signal: requested.reason as unknown }, "shutting down");
      void stop();
    });
    if (hurry)
      whenAborted(hurry, () =>
        log.warn(
          { signal: hurry.reason as unknown },
          "second signal: cancelling the calls in flight and stopping the servers now",
        ),
      );
  }

  if (options.transport === "stdio") {
    const configured = loaded.servers.filter((s) => s.skipReason === undefined).map((s) => s.name);
    say(
      `autonomous-mcp: ${configured.length} server${configured.length === 1 ? "" : "s"} to start (${configured.join(", ") || "none"})${skippedText(skipped)}; waiting for an MCP client on stdin`,
    );
    void serveStdio(
      {
        backend: aggregator,
        log,
        pageSize: aggregator.pageSize,
        maxJsonDepth: loaded.config.maxJsonDepth,
        stdin: options.stdin,
        stdout: options.stdout,
        onTransport: (transport) => (fronts.stdio = transport),
        onClientInitialize: async (caps: ClientCapabilities) => {
          const summary = await aggregator.start(caps, { graceMs: loaded.config.startup.graceMs });
          if (stopping) return;
          releaseStartupHeap();
          say(summaryLine(summary, "serving the MCP client on stdin"));
          sayWhenSettled(aggregator, summary, say, () => stopping !== undefined);
          startWatching();
        },
      },
      () => void stop(),
    ).then(
      (entry) => (fronts.stdioEntry = entry),
      (error: unknown) => {
        log.error({ err: String(error) }, "stdio front failed");
        void stop();
      },
    );
    return { aggregator, ended, stop };
  }

  const h = loaded.config.http;
  const host = options.host ?? h.host;
  // HTTP-only modules (the SDK's server transport, prom-client) load only in HTTP mode.
  const [{ HttpFront }, { operationalRoutes }, { PrincipalAuth, resolvePrincipals }] = await Promise.all([
    import("./front/http.js"),
    import("./front/routes.js"),
    import("./front/principals.js"),
  ]);
  const principals = resolvePrincipals(h, options.authToken, options.env, basename(loaded.path));
  const loopback = isLoopbackHost(host.replace(/^\[|\]$/g, "")) || isLoopbackHost(host);
  if (!loopback && principals.length === 0) {
    throw new AggregatorError(
      "CONFIG_INVALID",
      `autonomous-mcp: refusing to listen on ${host} without an auth token: anyone who can reach the port could call every tool. Set --auth-token or AUTONOMOUS_MCP_TOKEN (or http.principals), or bind 127.0.0.1.`,
    );
  }
  const auth = new PrincipalAuth(principals, h.maxSessions);
  log.info({ principals: auth.names, secured: auth.secured }, "http front principals");
  if (!metrics) throw new Error("HTTP front without metrics"); // made above for transport "http"
  // A signal during start-up stops what started so far (stop() closes the pool, which ends the start);
  // nothing starts listening after it.
  if (stopping) return { aggregator, ended, stop };
  await replicas?.attach(aggregator);
  // Shared connections declare no sampling / elicitation / roots: no single client stands behind them.
  const summary = await aggregator.start({}, { graceMs: loaded.config.startup.graceMs, front: "http" });
  if (stopping) return { aggregator, ended, stop };
  releaseStartupHeap();
  // Every server has its series from the first scrape, not only after its first change.
  for (const c of aggregator.pool.all()) {
    metrics.setBreaker(c.name, aggregator.breakers.stateOf(c.name));
    metrics.setServerUp(c.name, c.state === "ready");
  }
  const boundName = host === "0.0.0.0" || host === "::" ? [] : [host];
  if (!loopback) say(hostLine(host, [...h.allowedHosts, ...boundName]));
  // What the MCP front and the separate metrics port share: auth, limits, Host/Origin checks, routes.
  const shared = {
    backend: aggregator,
    log,
    host,
    auth,
    maxSessions: h.maxSessions,
    rateLimit: h.rateLimit,
    sessionIdleMs: h.sessionIdleMs,
    resumeGraceMs: h.resumeGraceMs,
    allowedHosts: [...h.allowedHosts, ...boundName],
    allowedOrigins: h.allowedOrigins,
    routes: operationalRoutes(
      aggregator,
      metrics,
      (): number => http.sessionCount,
      () => http.sessionsByPrincipal(),
      cluster?.state,
    ),
    onSessionEvent: (principal: string, event: "opened" | "closed" | "refused") =>
      metrics.sessionEvent(principal, event),
    sharing: replicas?.sessions,
    // /dashboard (src/dashboard/): its own Host/Origin/token checks, a login cookie besides the header.
    dashboard: observers.dashboard?.handler,
  };
  const http: HttpFront = new HttpFront({
    ...shared,
    port: options.port ?? h.port,
    path: h.path,
    pageSize: aggregator.pageSize,
    maxBodyBytes: h.maxBodyBytes,
    maxJsonDepth: loaded.config.maxJsonDepth,
  });
  const url = `${baseUrl(await http.listen())}${h.path}`;
  // Each front is handed to stop() once it listens; one that began listening after stop() closed the
  // fronts is closed here.
  if (stopping) {
    await http.close();
    return { aggregator, ended, stop };
  }
  fronts.http = http;
  let opsUrl = "";
  if (options.metricsPort !== undefined) {
    // Only /healthz, /readyz and /metrics: no MCP endpoint, sessions, request bodies or dashboard.
    const { dashboard: _mcpPortOnly, sharing: _sessionsToo, ...opsShared } = shared;
    const ops = new HttpFront({
      ...opsShared,
      port: options.metricsPort,
      path: undefined,
      pageSize: 0,
      maxBodyBytes: 0,
    });
    opsUrl = `; metrics on ${baseUrl(await ops.listen())}/metrics`;
    if (stopping) {
      await ops.close();
      return { aggregator, ended, stop };
    }
    fronts.ops = ops;
  }
  say(summaryLine(summary, `listening on ${url}${opsUrl}`));
  sayWhenSettled(aggregator, summary, say, () => stopping !== undefined);
  startWatching();
  return { aggregator, http, url, ended, stop, ...(cluster ? { cluster: cluster.state } : {}) };
}

/**
 * Servers still starting after the grace: one more summary line once all of them are ready or failed —
 * unless we are shutting down by then (the servers our own shutdown stopped did not fail, and "every
 * server has settled" would be false).
 */
function sayWhenSettled(
  aggregator: Aggregator,
  first: StartSummary,
  say: (line: string) => void,
  stopping: () => boolean,
): void {
  if (first.starting.length === 0) return;
  void aggregator.started.then(() => {
    if (stopping()) return;
    say(summaryLine(aggregator.summary(), "every server has settled (late servers joined)"));
  });
}

/** What a front bound to a non-loopback address accepts as Host, and how to accept more. */
export function hostLine(host: string, allowed: readonly string[]): string {
  const names = ["localhost", "127.0.0.1", "[::1]", ...allowed].join(", ");
  return `autonomous-mcp: bound to ${host}: the MCP endpoint and /readyz, /metrics accept only the Host names ${names} (any port); a request naming any other host (the machine's IP or DNS name, a pod IP, a proxy's name) gets 403 — add names with --allowed-host NAME or http.allowedHosts. /healthz answers any Host.`;
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function skippedText(skipped: readonly { name: string; skipReason?: string | undefined }[]): string {
  if (skipped.length === 0) return "";
  const allCreds = skipped.every((s) => s.skipReason?.startsWith("set "));
  return `; skipped: ${skipped.map((s) => s.name).join(", ")}${allCreds ? " (missing credentials)" : ""}`;
}

export function summaryLine(summary: StartSummary, tail: string): string {
  const n = summary.ready.length;
  const parts = [
    `autonomous-mcp: ${summary.tools} tools from ${n} server${n === 1 ? "" : "s"} (${summary.ready.join(", ") || "none"})`,
  ];
  if (summary.failed.length > 0)
    parts.push(`failed: ${summary.failed.map((f) => `${f.name} (${f.reason})`).join(", ")}`);
  if (summary.starting.length > 0)
    parts.push(`still starting: ${summary.starting.join(", ")} (their tools join when ready)`);
  if (summary.skipped.length > 0) parts.push(`skipped: ${summary.skipped.map((s) => s.name).join(", ")}`);
  parts.push(tail);
  return parts.join("; ");
}
