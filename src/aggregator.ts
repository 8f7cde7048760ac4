import type {
  CallToolResult,
  ClientCapabilities,
  Implementation,
  ServerCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import { fromSignal } from "./pipeline/cancel.js";
import { Catalog, type BuiltinTool, type CatalogSource } from "./catalog/catalog.js";
import type { LoadedConfig, ResolvedServer } from "./config/load.js";
import type { ServerState } from "./downstream/connection.js";
import { ConnectionPool } from "./downstream/pool.js";
import type { CreatedTransport } from "./downstream/transports.js";
import type { CallOrigin, FrontBackend, FrontSessionHandle } from "./front/backend.js";
import type { Logger } from "./logger.js";
import type { MetaTool } from "./meta/types.js";
import { buildPipeline } from "./pipeline/build.js";
import { createForward } from "./pipeline/forward.js";
import { BreakerRegistry } from "./pipeline/middleware/breaker.js";
import { ResultCache } from "./pipeline/middleware/cache.js";
import { ServerLimiter } from "./pipeline/middleware/limit.js";
import { CallStats } from "./pipeline/middleware/observe.js";
import type { Metrics } from "./metrics.js";
import { profileFor, type BuiltinProfile } from "./profiles/index.js";
import { RequestRelay } from "./relay.js";
import { Router, type WorkflowExecutor } from "./router.js";
import { VERSION } from "./version.js";
import {
  catalogChanges,
  catalogView,
  connectionSettings,
  diffServers,
  internalOrigin,
  pickRelayCapabilities,
  startSummary,
  Subscriptions,
  type StartSummary,
} from "./aggregatorSupport.js";

export interface AggregatorOptions {
  readonly loaded: LoadedConfig;
  readonly log: Logger;
  /** Page size of our list results (0 = never paginate). */
  readonly pageSize?: number;
}

export type { StartSummary } from "./aggregatorSupport.js";

/** The composition root: config → pool → catalog → pipeline → router, exposed to fronts as a FrontBackend. */
export class Aggregator implements FrontBackend {
  readonly serverInfo: Implementation = { name: "autonomous-mcp", version: VERSION };
  readonly instructions: string | undefined = undefined;
  readonly pool: ConnectionPool;
  readonly relay = new RequestRelay();
  private metricsSink: Metrics | undefined;
  readonly stats = new CallStats();

  /** Prometheus metrics, set by the HTTP front before start (stdio mode keeps the hot path free of them). */
  get metrics(): Metrics | undefined {
    return this.metricsSink;
  }

  set metrics(metrics: Metrics | undefined) {
    this.metricsSink = metrics;
    // No per-call event object at all without metrics.
    this.stats.onCall = metrics ? (event) => metrics.onCall(event) : undefined;
  }
  readonly cache: ResultCache;
  readonly breakers: BreakerRegistry;
  readonly router: Router;
  readonly meta = new Map<string, MetaTool>();
  workflowExecutor: WorkflowExecutor | undefined;
  workflowHost: { refresh(): void; setDefinitions(d: Readonly<Record<string, unknown>>): void } | undefined;
  workflowTools: BuiltinTool[] = [];

  private current: Catalog;
  private servers: Map<string, ResolvedServer>;
  private readonly profiles = new Map<string, BuiltinProfile | undefined>();
  private readonly limiters = new Map<string, ServerLimiter>();
  private readonly subscriptions = new Subscriptions(
    (uri) => this.current.resolveResource(uri),
    (server) => this.pool.get(server)?.capabilities?.resources?.subscribe === true,
    (server, method, uri, sessionId) =>
      this.forward(server, method, { uri }, internalOrigin(sessionId)).then(() => undefined),
  );
  private readonly shutdownController = new AbortController();
  private inflight = 0;
  private clientCaps: ClientCapabilities = {};
  readonly log: Logger;

  constructor(
    private loaded: LoadedConfig,
    options: { log: Logger; pageSize?: number; prespawned?: Map<string, CreatedTransport> },
  ) {
    this.log = options.log;
    this.pageSize = options.pageSize ?? 500;
    this.servers = new Map(loaded.servers.map((s) => [s.name, s]));
    this.cache = new ResultCache({
      maxEntries: loaded.config.cache.maxEntries,
      maxBytes: loaded.config.cache.maxBytes,
    });
    this.breakers = new BreakerRegistry((server) => this.serverOf(server).breaker, {
      onStateChange: (server, state) => {
        this.log.info({ server, breaker: state }, "breaker state changed");
        this.metrics?.setBreaker(server, state);
      },
    });
    this.pool = new ConnectionPool({
      log: this.log,
      clientInfo: { name: "autonomous-mcp", version: VERSION },
      clientCapabilities: () => this.clientCaps,
      ...(options.prespawned ? { prespawned: options.prespawned } : {}),
      hooks: {
        onStateChange: (server, state, reason) => this.onServerState(server, state, reason),
        onCatalogChanged: () => this.rebuild(),
        onResourceUpdated: (_server, uri) => {
          for (const s of this.relay.sessionList()) s.notifyResourceUpdated(uri);
        },
        onLog: (server, params) => {
          const data = params["data"];
          const logger = typeof params["logger"] === "string" ? `${server}/${params["logger"]}` : server;
          for (const s of this.relay.sessionList()) s.sendLog({ ...params, logger, data });
        },
        onHealthFailure: (server, error) => this.breakers.recordFailure(server, error),
        onServerRequest: (server, kind, request, signal) => this.relay.relay(server, kind, request, signal),
      },
    });
    const pipeline = buildPipeline({
      log: this.log,
      stats: this.stats,
      cache: this.cache,
      breakers: this.breakers,
      limiterFor: (server) => this.limiterFor(server),
      retryFor: (server) => this.serverOf(server).retry,
      shutdown: this.shutdownController.signal,
      maxJsonDepth: loaded.config.maxJsonDepth,
      maxSchemaNodes: loaded.config.maxSchemaNodes,
      forward: createForward(this.pool, {
        rpcErrorsAreToolErrors: (server) =>
          this.profileOf(this.serverOf(server))?.rpcErrorsAreToolErrors === true,
      }),
    });
    this.router = new Router({
      catalog: () => this.current,
      pipeline,
      meta: this.meta,
      workflows: () => this.workflowExecutor,
      relay: this.relay,
      log: this.log,
    });
    this.current = this.buildCatalog();
  }

  readonly pageSize: number;

  get config(): LoadedConfig {
    return this.loaded;
  }

  serverOf(name: string): ResolvedServer {
    const server = this.servers.get(name);
    if (!server) throw new Error(`unknown server ${name}`);
    return server;
  }

  serverList(): ResolvedServer[] {
    return [...this.servers.values()];
  }

  profileOf(server: ResolvedServer): BuiltinProfile | undefined {
    if (!this.profiles.has(server.name)) this.profiles.set(server.name, profileFor(server));
    return this.profiles.get(server.name);
  }

  limiterFor(server: string): ServerLimiter {
    let limiter = this.limiters.get(server);
    if (!limiter) {
      const s = this.serverOf(server);
      limiter = new ServerLimiter({
        maxConcurrency: s.maxConcurrency,
        maxQueue: s.maxQueue,
        serializeWrites: s.serializeWrites,
        server,
      });
      this.limiters.set(server, limiter);
    }
    return limiter;
  }

  /**
   * Connects every enabled server in parallel. `clientCapabilities` is what we declare downstream for
   * sampling / elicitation / roots (the front client's, in stdio mode).
   */
  async start(clientCapabilities: ClientCapabilities = {}): Promise<StartSummary> {
    this.clientCaps = pickRelayCapabilities(clientCapabilities);
    const runnable = this.serverList().filter((s) => s.skipReason === undefined);
    for (const s of runnable) await this.profileOf(s)?.prepare?.(s, this.log);
    await this.pool.startAll(runnable.map((s) => connectionSettings(s)));
    // Each server's list already rebuilt the catalog as it arrived; the workflows rebuild it once more.
    if (this.workflowHost) this.refreshWorkflows();
    else this.rebuild();
    return this.summary();
  }

  summary(): StartSummary {
    return startSummary(this.serverList(), (name) => this.pool.get(name), this.current.toolList.length);
  }

  /**
   * Applies a new, already validated config: servers whose resolved entry changed are restarted, added
   * ones start, removed ones stop; unchanged servers (and calls in flight to them) are not touched.
   */
  async reload(next: LoadedConfig): Promise<{ added: string[]; removed: string[]; restarted: string[] }> {
    const after = new Map(next.servers.map((s) => [s.name, s]));
    const { added, removed, restarted } = diffServers(this.servers, after);
    this.loaded = next;
    this.servers = after;
    for (const name of [...removed, ...restarted]) {
      this.profiles.delete(name);
      this.limiters.delete(name);
      this.breakers.reset(name);
      this.cache.invalidateServer(name);
      await this.pool.remove(name);
    }
    const toStart = [...added, ...restarted]
      .map((n) => after.get(n))
      .filter((s): s is ResolvedServer => s !== undefined && s.skipReason === undefined);
    for (const s of toStart) await this.profileOf(s)?.prepare?.(s, this.log);
    this.workflowHost?.setDefinitions(next.config.workflows as Record<string, unknown>);
    this.rebuild();
    await Promise.all(toStart.map((s) => this.pool.add(connectionSettings(s))));
    this.rebuild();
    this.refreshWorkflows();
    return { added, removed, restarted };
  }

  /** Workflows are validated against the live catalog, then published as tools. */
  refreshWorkflows(): void {
    if (!this.workflowHost) return;
    this.workflowHost.refresh();
    this.rebuild();
  }

  /** Rebuilds the catalog from the servers' current lists; tells clients only about real changes. */
  rebuild(): void {
    const before = this.current;
    const next = this.buildCatalog();
    this.current = next;
    for (const w of next.warnings)
      if (!before.warnings.some((b) => b.message === w.message)) this.log.warn(w.message);
    const sessions = this.relay.sessionList();
    // Nobody to tell (start-up: sessions open after initialize): no comparison of the lists at all.
    if (sessions.length === 0) return;
    const changed = catalogChanges(before, next);
    for (const session of sessions) {
      if (changed.tools) session.notifyListChanged("tools");
      if (changed.resources) session.notifyListChanged("resources");
      if (changed.prompts) session.notifyListChanged("prompts");
    }
  }

  private buildCatalog(): Catalog {
    const sources: CatalogSource[] = [];
    for (const connection of this.pool.all()) {
      const server = this.servers.get(connection.name);
      if (server)
        sources.push({
          server: catalogView(server, this.profileOf(server)?.tools),
          catalog: connection.catalog,
        });
    }
    const builtins: BuiltinTool[] = [
      ...[...this.meta.values()].map((m) => ({ definition: m.definition, kind: "meta" as const })),
      ...this.workflowTools,
    ];
    const config = this.loaded.config;
    return new Catalog(sources, builtins, {
      separator: config.namespaceSeparator,
      maxLength: config.maxToolNameLength,
      readOnly: config.readOnly,
      exposure: config.exposure,
    });
  }

  /** Start-up progress hook: each server's first ready/failed. */
  onServerSettled: ((server: string, state: ServerState) => void) | undefined;
  private readonly settled = new Set<string>();

  private onServerState(server: string, state: ServerState, reason: string | undefined): void {
    if ((state === "ready" || state === "failed" || state === "restarting") && !this.settled.has(server)) {
      this.settled.add(server);
      this.onServerSettled?.(server, state);
    }
    const log = this.log.child({ server });
    this.metrics?.setServerUp(server, state === "ready");
    if (state === "restarting") this.metrics?.incRestarts(server);
    if (state === "failed") {
      this.breakers.forceOpen(server, reason ?? "server failed");
      log.error({ reason }, "server failed");
    } else if (state === "ready") {
      this.breakers.reset(server);
      log.info("server ready");
    } else if (state === "restarting") {
      log.warn({ reason }, "server restarting");
    }
  }

  // ---- FrontBackend ----

  catalog(): Catalog {
    return this.current;
  }

  capabilities(): ServerCapabilities {
    return this.pool.unionCapabilities();
  }

  callTool(name: string, args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult> {
    this.inflight++;
    // One derived promise, no per-call closure or async frame (the hot path of every tools/call).
    return this.router.callTool(name, args, origin).then(this.ended, this.failed);
  }

  private readonly ended = <T>(value: T): T => (this.inflight--, value);
  private readonly failed = (error: unknown): never => {
    this.inflight--;
    throw error;
  };

  async forward(
    server: string,
    method: string,
    params: Record<string, unknown>,
    origin: CallOrigin,
  ): Promise<Record<string, unknown>> {
    const connection = this.pool.get(server);
    const s = this.serverOf(server);
    if (!connection) throw new Error(`${server} is not running`);
    this.relay.track(server, origin);
    try {
      return await connection.send(
        method,
        params,
        { cancel: origin.cancel ?? fromSignal(origin.signal), timeoutMs: s.timeoutMs },
        Date.now() + s.timeoutMs,
      );
    } finally {
      this.relay.untrack(server, origin);
    }
  }

  subscribe(uri: string, sessionId: string): Promise<void> {
    return this.subscriptions.subscribe(uri, sessionId);
  }

  unsubscribe(uri: string, sessionId: string): Promise<void> {
    return this.subscriptions.unsubscribe(uri, sessionId);
  }

  broadcast(method: string, params: Record<string, unknown>, capability: "logging"): Promise<void> {
    return this.pool.broadcast(method, params, capability, this.shutdownController.signal);
  }

  rootsChanged(): void {
    for (const c of this.pool.all()) void c.notify("notifications/roots/list_changed");
  }

  sessionOpened(session: FrontSessionHandle): void {
    this.relay.addSession(session);
  }

  sessionClosed(sessionId: string): void {
    this.relay.removeSession(sessionId);
    this.subscriptions.dropSession(sessionId);
  }

  get inflightCalls(): number {
    return this.inflight;
  }

  /** In-flight calls get `graceMs` to finish, then are cancelled; then every server is stopped. */
  async shutdown(graceMs = 5_000): Promise<void> {
    await this.drain(graceMs);
    await this.close();
  }

  /** Waits up to `graceMs` for calls in flight, then cancels the rest (they answer with a clear error). */
  async drain(graceMs = 5_000): Promise<void> {
    const until = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    this.shutdownController.abort(new Error("autonomous-mcp is shutting down"));
    // Let the cancelled calls' answers reach the fronts before they close.
    const settle = Date.now() + 1_000;
    while (this.inflight > 0 && Date.now() < settle) await new Promise((r) => setTimeout(r, 10));
  }

  /** Stops every server (process groups terminated). */
  async close(): Promise<void> {
    this.shutdownController.abort(new Error("autonomous-mcp is shutting down"));
    await this.pool.closeAll();
    this.breakers.shutdown();
  }
}
