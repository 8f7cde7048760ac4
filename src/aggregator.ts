import type {
  CacheHint,
  CallToolResult,
  ClientCapabilities,
  Implementation,
  LoggingLevel,
  ServerCapabilities,
} from "@modelcontextprotocol/server";
import type { Catalog } from "./catalog/catalog.js";
import type { LoadedConfig, ResolvedServer } from "./config/load.js";
import type { ServerState } from "./downstream/connection.js";
import { ConnectionPool } from "./downstream/pool.js";
import type { CallOrigin, FrontBackend, FrontSessionHandle } from "./front/backend.js";
import { internalOrigin, type InputRound, type StateCodec } from "./front/backend.js";
import { createBridge, type Bridge } from "./bridge/index.js";
import type { Logger } from "./logger.js";
import type { MetaTool } from "./meta/types.js";
import { buildLocalPipeline, buildPipeline, buildRequestPipeline } from "./pipeline/build.js";
import { requestIds } from "./pipeline/context.js";
import { createRequestPath } from "./pipeline/requests.js";
import { createForward } from "./pipeline/forward.js";
import { BreakerRegistry } from "./pipeline/middleware/breaker.js";
import { ResultCache } from "./pipeline/middleware/cache.js";
import { cachedServers, pipelineState } from "./pipeline/shared.js";
import { ServerLimiter } from "./pipeline/middleware/limit.js";
import { CallStats } from "./pipeline/middleware/observe.js";
import { CallFeed } from "./callFeed.js";
import type { Metrics } from "./metrics.js";
import { catalogTelemetry } from "./telemetry/catalogLabels.js";
import { profileFor, type BuiltinProfile } from "./profiles/index.js";
import { waitWhile } from "./shutdown.js";
import { ClientIsolation } from "./isolation.js";
import { Router } from "./router.js";
import { placer, type Args, type Placer } from "./placement.js";
import { VERSION } from "./version.js";
import { buildCatalog } from "./catalog/build.js";
import { notifyListChanges } from "./catalog/changes.js";
import { createEventBus, publishListChanges, type ServerEventBus } from "./front/events.js";
import { connectionSettings } from "./downstream/settings.js";
import { pickRelayCapabilities, RequestRelay } from "./relay.js";
import { diffServers } from "./reload.js";
import { reportBreakerState, reportServerState } from "./serverStates.js";
import { Subscriptions } from "./subscriptions.js";
import { mergeInstructions } from "./extensions/instructions.js";
import type { TaskIds } from "./extensions/tasks.js";
import { awaitAbsent, listCacheHint as cacheHintOf, startSummary, StartupState } from "./startup.js";
import { withinGrace, withPendingCapabilities, type StartSummary } from "./startup.js";
import type { AggregatorOptions, WorkflowHostLike } from "./aggregatorOptions.js";
export type { StartSummary } from "./startup.js";
export type { AggregatorOptions, WorkflowHostLike } from "./aggregatorOptions.js";
/** Config → pool → catalog → pipeline → router, exposed to fronts as a FrontBackend (built by src/compose.ts). */
export class Aggregator implements FrontBackend {
  readonly serverInfo: Implementation = { name: "autonomous-mcp", version: VERSION };
  get instructions(): string | undefined {
    return mergeInstructions(this.pool.all()); // each server's, bounded (src/extensions)
  }
  readonly pool: ConnectionPool;
  readonly relay = new RequestRelay();
  /** Prometheus metrics (the HTTP front); none in stdio mode keeps the hot path free of them. */
  readonly metrics: Metrics | undefined;
  readonly stats = new CallStats();
  /** Finished-call listeners: metrics, dashboard, audit log (none: no per-call event object at all). */
  readonly calls = new CallFeed(this.stats, (e) => this.log.warn({ err: String(e) }, "call listener failed"));
  readonly cache: ResultCache;
  readonly breakers: BreakerRegistry;
  readonly router: Router;
  readonly bridge: Bridge; // input_required across the protocol generations (src/bridge/)
  get taskIds(): TaskIds { return this.bridge.taskIds; } // prettier-ignore
  readonly telemetry = catalogTelemetry(this); // off until serve turns tracing or metrics on
  /** Any routed request (resources/read, prompts/get…) to a downstream; its result verbatim. */
  readonly forward: FrontBackend["forward"] = (s, m, p, o, round) => this.bridge.forward(s, m, p, o, round);
  readonly meta = new Map<string, MetaTool>();
  private readonly placement: Placer | undefined;
  readonly events: ServerEventBus; // 2026-07-28 clients' change events (src/front/events.ts)
  /** The configured and shipped workflows (none for `doctor`), made with the aggregator. */
  readonly workflowHost: WorkflowHostLike | undefined;

  private current: Catalog;
  private servers: Map<string, ResolvedServer>;
  private readonly profiles = new Map<string, BuiltinProfile | undefined>();
  private readonly limiters = new Map<string, ServerLimiter>();
  private readonly subscriptions = new Subscriptions(
    (uri) => this.current.resolveResource(uri),
    (server) => this.pool.get(server)?.capabilities?.resources?.subscribe === true,
    (server, method, uri, sessionId) =>
      this.forward(server, method, { uri }, internalOrigin(sessionId)).then(() => undefined),
    (server) => this.isolation.isPerClient(server),
  );
  /** Per-client connections, log levels and per-session tool lists (src/isolation.ts). */
  readonly isolation: ClientIsolation;
  private readonly shutdownController = new AbortController();
  private inflight = 0;
  private clientCaps: ClientCapabilities = {};
  readonly log: Logger;
  readonly pageSize: number;

  constructor(
    private loaded: LoadedConfig,
    options: AggregatorOptions,
  ) {
    this.log = options.log;
    this.placement = options.placement && placer(options.placement, () => this);
    this.events = options.bus ?? createEventBus(this.log);
    const metrics = (this.metrics = options.metrics);
    if (metrics) this.calls.set("metrics", (event) => metrics.onCall(event));
    if (metrics) this.telemetry.useMetrics(metrics.operations);
    this.startup.onSettled = options.onServerSettled;
    this.pageSize = options.pageSize ?? 500;
    this.servers = new Map(loaded.servers.map((s) => [s.name, s]));
    const shared = options.shared ?? {}; // cluster mode: the Redis stores (src/cluster/stores.ts)
    const cachesServer = (server: string): boolean => cachedServers(this.current).has(server);
    this.cache = new ResultCache({ ...loaded.config.cache, shared: shared.cache, cachesServer });
    this.breakers = new BreakerRegistry((server) => this.serverOf(server).breaker, {
      share: shared.breakers,
      onStateChange: (server, state) => reportBreakerState(this, server, state),
    });
    this.pool = new ConnectionPool({
      log: this.log,
      clientInfo: { name: "autonomous-mcp", version: VERSION },
      clientCapabilities: () => this.clientCaps,
      ...(options.prespawned ? { prespawned: options.prespawned } : {}),
      hooks: {
        onStateChange: (server, state, reason) => this.onServerState(server, state, reason),
        onCatalogChanged: () => (this.serving ? this.refreshWorkflows() : this.rebuild()),
        // Resource updates, logs and server→client requests of shared (and template) connections.
        onResourceUpdated: (server, uri) => this.isolation.deliverResourceUpdated(server, uri),
        onLog: (server, params) => this.isolation.deliverLog(server, params),
        onServerRequest: (server, kind, req, signal) => this.relay.relay(server, kind, req, signal),
        onHealthFailure: (server, error) => this.breakers.recordFailure(server, error),
      },
    });
    this.isolation = new ClientIsolation({
      log: this.log,
      pool: this.pool,
      relay: this.relay,
      clientInfo: this.serverInfo,
      serverOf: (name) => this.servers.get(name),
      profileMode: (s) => this.profileOf(s)?.sessionMode,
      buildCatalog: (sessionId) => this.buildCatalog(sessionId),
      current: () => this.current,
      events: this.events,
      shutdown: this.shutdownController.signal,
      oauth: options.oauth,
    });
    const parts = {
      log: this.log,
      telemetry: this.telemetry,
      stats: this.stats,
      cache: this.cache,
      breakers: this.breakers,
      limiterFor: (server: string) => this.limiterFor(server),
      retryFor: (server: string) => this.serverOf(server).retry,
      shutdown: this.shutdownController.signal,
      maxJsonDepth: loaded.config.maxJsonDepth,
      maxSchemaNodes: loaded.config.maxSchemaNodes,
      state: pipelineState(shared, loaded.config.cluster, options.cluster?.replicaId),
      forward: createForward(this.pool, {
        rpcErrorsAreToolErrors: (server) =>
          this.profileOf(this.serverOf(server))?.rpcErrorsAreToolErrors === true,
        connectionFor: (server, sessionId) => this.isolation.connectionFor(server, sessionId),
      }),
    };
    // resources/read, prompts/get, completion/complete: the server's deadline, breaker and limit too.
    const ids = requestIds(); // the one request-id source: tools/call (router) and guarded requests
    const requests = createRequestPath((s) => buildRequestPipeline(parts, s), this.isolation, this.log, ids);
    this.router = new Router({
      catalog: (sessionId) => this.isolation.catalogFor(sessionId),
      pipeline: buildPipeline(parts),
      local: (dispatch) => buildLocalPipeline(parts, dispatch),
      meta: this.meta,
      workflows: () => this.workflowHost,
      relay: this.relay,
      log: this.log,
      requestIds: ids,
      unlisted: (name, origin) => {
        const owner = this.current.resolveAbsent(name);
        const s = owner && this.servers.get(owner.server);
        return s && awaitAbsent(s, this.pool.get(s.name), this.startup.sinceOf(s.name), origin);
      },
      prepare: (sessionId) => this.isolation.prepareSession(sessionId),
      signIn: (server, origin, deadlineMs) => this.isolation.signIn(server, origin, deadlineMs),
    });
    this.bridge = createBridge(this, options, requests, this.shutdownController.signal);
    // The aggregator's own tools and the workflows: made from the aggregator, once, before the first catalog.
    const extensions = options.extensions?.(this);
    for (const tool of extensions?.meta ?? []) this.meta.set(tool.definition.name, tool);
    this.workflowHost = extensions?.workflows;
    this.current = this.buildCatalog();
  }

  get config(): LoadedConfig { return this.loaded; } // prettier-ignore

  serverOf(name: string): ResolvedServer {
    const server = this.servers.get(name);
    if (!server) throw new Error(`unknown server ${name}`);
    return server;
  }

  readonly serverList = (): ResolvedServer[] => [...this.servers.values()];

  profileOf(server: ResolvedServer): BuiltinProfile | undefined {
    if (!this.profiles.has(server.name)) this.profiles.set(server.name, profileFor(server));
    return this.profiles.get(server.name);
  }

  limiterFor(server: string): ServerLimiter {
    let limiter = this.limiters.get(server);
    if (!limiter)
      this.limiters.set(server, (limiter = new ServerLimiter({ ...this.serverOf(server), server })));
    return limiter;
  }

  /**
   * Connects every enabled server in parallel. `clientCapabilities` is what we declare downstream for
   * sampling / elicitation / roots: the one client's on the stdio front; nothing on the HTTP front,
   * where per-client connections declare their own client's (src/isolation.ts). Resolves when every
   * server is ready or failed, or after `graceMs` (default: no limit); servers still starting then join
   * later (catalog rebuilt, list_changed sent) and `started` resolves once all have settled.
   */
  async start(
    clientCapabilities: ClientCapabilities = {},
    options: { readonly graceMs?: number; readonly front?: "stdio" | "http" } = {},
  ): Promise<StartSummary> {
    const front = options.front ?? "stdio";
    const graceMs = options.graceMs ?? Infinity;
    this.isolation.front = front;
    this.clientCaps = front === "http" ? {} : pickRelayCapabilities(clientCapabilities);
    const runnable = this.serverList().filter((s) => s.skipReason === undefined);
    for (const s of runnable) await this.profileOf(s)?.prepare?.(s, this.log);
    for (const s of runnable) this.startup.begin(s.name);
    const all = this.pool.startAll(runnable.map((s) => connectionSettings(s, this.isolation.oauth)));
    this.started = all.then(() => undefined);
    await withinGrace(all, graceMs);
    this.serving = true;
    // Each server's list already rebuilt the catalog as it arrived; the workflows rebuild it once more.
    if (this.workflowHost) this.refreshWorkflows();
    else this.rebuild();
    return this.summary();
  }

  started: Promise<void> = Promise.resolve(); // every server started by start() is ready or failed
  private serving = false; // start() has returned: later catalog changes re-validate the workflows
  readonly startup = new StartupState();

  summary(): StartSummary {
    return startSummary(this.serverList(), (name) => this.pool.get(name), this.current.toolList.length);
  }

  /** Applies a validated config: changed servers restart, added start, removed stop; others untouched. */
  async reload(next: LoadedConfig): Promise<{ added: string[]; removed: string[]; restarted: string[] }> {
    const after = new Map(next.servers.map((s) => [s.name, s]));
    const { added, removed, restarted } = diffServers(this.servers, after);
    this.loaded = next;
    this.servers = after;
    for (const name of [...removed, ...restarted]) {
      this.profiles.delete(name);
      this.limiters.delete(name);
      this.breakers.reset(name);
      await this.cache.invalidateServer(name)?.catch(() => undefined); // shared entries expire anyway
      await this.isolation.forget(name);
      await this.pool.remove(name);
    }
    const toStart = [...added, ...restarted]
      .map((n) => after.get(n))
      .filter((s): s is ResolvedServer => s !== undefined && s.skipReason === undefined);
    for (const s of toStart) await this.profileOf(s)?.prepare?.(s, this.log);
    for (const s of toStart) this.startup.begin(s.name);
    this.workflowHost?.setDefinitions(next.config.workflows as Record<string, unknown>);
    this.rebuild();
    await Promise.all(toStart.map((s) => this.pool.add(connectionSettings(s, this.isolation.oauth))));
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
    this.isolation.invalidate();
    for (const w of next.warnings)
      if (!before.warnings.some((b) => b.message === w.message)) this.log.warn(w.message);
    notifyListChanges(before, next, this.relay.sessionList(), (c) => publishListChanges(this.events, c));
  }

  /** The common catalog; with `sessionId`, that session's own connections' lists replace their templates'. */
  private buildCatalog(sessionId?: string): Catalog {
    return buildCatalog({
      connections: this.pool.all(),
      serverOf: (name) => this.servers.get(name),
      profileOf: (server) => this.profileOf(server),
      own: (server) => (sessionId === undefined ? undefined : this.isolation.ownCatalog(server, sessionId)),
      builtins: [
        ...[...this.meta.values()].map((m) => ({ definition: m.definition, kind: "meta" as const })),
        ...(this.workflowHost?.tools ?? []),
      ],
      config: this.loaded.config,
      servers: this.servers.values(),
      connectionOf: (name) => this.pool.get(name),
    });
  }

  private onServerState(server: string, state: ServerState, reason: string | undefined): void {
    this.startup.changed(server, state);
    reportServerState(this, server, state, reason);
  }

  catalog(sessionId?: string): Catalog {
    return sessionId === undefined ? this.current : this.isolation.catalogFor(sessionId);
  }

  async prepareSession(sessionId: string): Promise<void> {
    await this.isolation.prepareSession(sessionId);
  }

  readonly listCacheHint = (): CacheHint => cacheHintOf(this.pool.all(), this.isolation);
  capabilities(): ServerCapabilities {
    return withPendingCapabilities(this.pool.unionCapabilities(), this.pool.all());
  }

  /** `here`: a call another replica forwarded (cluster mode) runs here, wherever its placement is. */
  callTool(name: string, args: Args, o: CallOrigin, r?: InputRound, here = false): Promise<CallToolResult> {
    this.inflight++;
    // One derived promise, no per-call closure or async frame (the hot path of every tools/call).
    const placed = here ? undefined : this.placement?.(name, args, o);
    return (placed ?? this.bridge.callTool(name, args, o, r)).then(this.ended, this.failed);
  }

  readonly stateCodec = (principal: string | undefined): StateCodec => this.bridge.codec(principal);
  private readonly ended = <T>(value: T): T => (this.inflight--, value);
  private readonly failed = (error: unknown): never => {
    this.inflight--;
    throw error;
  };

  subscribe(uri: string, sessionId: string): Promise<void> {
    return this.subscriptions.subscribe(uri, sessionId);
  }

  unsubscribe(uri: string, sessionId: string): Promise<void> {
    return this.subscriptions.unsubscribe(uri, sessionId);
  }

  broadcast(method: string, params: Record<string, unknown>, capability: "logging"): Promise<void> {
    return this.pool.broadcast(method, params, capability, this.shutdownController.signal);
  }

  setLogLevel(sessionId: string, level: LoggingLevel): Promise<void> {
    return this.isolation.setLogLevel(sessionId, level);
  }

  rootsChanged(sessionId?: string): void {
    this.isolation.rootsChanged(sessionId);
  }

  sessionOpened(session: FrontSessionHandle): void {
    this.relay.addSession(session);
  }

  sessionClosed(sessionId: string): void {
    this.subscriptions.dropSession(sessionId);
    this.relay.removeSession(sessionId);
    void this.isolation.sessionClosed(sessionId);
  }

  get inflightCalls(): number {
    return this.inflight;
  }

  /** In-flight calls get `graceMs` to finish, then are cancelled; then every server is stopped. */
  async shutdown(graceMs = 5_000): Promise<void> {
    await this.drain(graceMs);
    await this.close();
  }

  /** Waits up to `graceMs` (less if `hurry` aborts) for calls in flight and `busy`, then cancels the rest. */
  async drain(graceMs = 5_000, options: { hurry?: AbortSignal; busy?: () => boolean } = {}): Promise<void> {
    const busy = (): boolean => this.inflight > 0 || options.busy?.() === true;
    await waitWhile(() => busy() && !options.hurry?.aborted, graceMs, 25);
    this.shutdownController.abort(new Error("autonomous-mcp is shutting down"));
    // Let the cancelled calls' answers reach the fronts before they close.
    await waitWhile(busy, 1_000, 10);
  }

  /** Stops every server (process groups terminated). */
  async close(): Promise<void> {
    this.shutdownController.abort(new Error("autonomous-mcp is shutting down"));
    await Promise.all([this.pool.closeAll(), this.isolation.connections.closeAll()]);
    this.breakers.shutdown();
  }
}
