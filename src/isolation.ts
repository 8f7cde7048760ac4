import type { ClientCapabilities, Implementation, LoggingLevel } from "@modelcontextprotocol/server";
import { catalogChanges } from "./catalog/changes.js";
import { connectionSettings } from "./downstream/settings.js";
import { createOAuthSessions, type OAuthSessions } from "./oauth/session.js";
import { pickRelayCapabilities } from "./relay.js";
import type { Catalog } from "./catalog/catalog.js";
import type { ResolvedServer } from "./config/load.js";
import type { ConnectionHooks, DownstreamConnection } from "./downstream/connection.js";
import { sameCatalog } from "./downstream/listing.js";
import { PerClientConnections } from "./downstream/perClient.js";
import { sendScoped, type ConnectionPool } from "./downstream/pool.js";
import { errorMessage } from "./errors.js";
import type { CallOrigin } from "./front/backend.js";
import { publishListChanges, publishResourceUpdated, type ServerEventBus } from "./front/events.js";
import type { Logger } from "./logger.js";
import type { RequestRelay } from "./relay.js";
import { LOGGING_LEVELS } from "./logLevels.js";

export type SessionMode = "shared" | "per-client";

export interface IsolationDeps {
  readonly log: Logger;
  readonly pool: ConnectionPool;
  readonly relay: RequestRelay;
  readonly clientInfo: Implementation;
  readonly serverOf: (name: string) => ResolvedServer | undefined;
  /** The built-in profile's sessionMode of a server, if it declares one. */
  readonly profileMode: (server: ResolvedServer) => SessionMode | undefined;
  /** The catalog with the session's own connections' lists in place of their templates'. */
  readonly buildCatalog: (sessionId: string) => Catalog;
  readonly current: () => Catalog;
  /** Change events of 2026-07-28 clients (their listen streams follow resources there). */
  readonly events?: ServerEventBus | undefined;
  readonly shutdown: AbortSignal;
  /** OAuth sessions (default: tokens from the user's store, src/oauth/store.ts). */
  readonly oauth?: OAuthSessions | undefined;
}

/**
 * What keeps front clients apart (docs/security.md, "Isolation between clients"): which servers get one
 * connection per client session, those connections, each session's log level, and the tool lists that
 * differ per session because a per-client server saw that client's capabilities.
 *
 * The stdio front has one client: every server is shared and nothing here costs a call anything.
 */
export class ClientIsolation {
  /** Set by start(): on "stdio" every server is shared. */
  front: "stdio" | "http" = "stdio";
  readonly connections: PerClientConnections;
  private readonly modes = new Map<string, boolean>();
  private readonly levels = new Map<string, LoggingLevel>();
  /** Sessions whose own connections list something else than the template connections. */
  private readonly divergent = new Set<string>();
  private readonly catalogs = new Map<string, Catalog>();

  /** One OAuth session per server for this process: shared by the pool's and per-client connections. */
  readonly oauth: OAuthSessions;

  constructor(private readonly deps: IsolationDeps) {
    this.oauth = deps.oauth ?? createOAuthSessions(deps.log);
    this.connections = new PerClientConnections({
      log: deps.log,
      clientInfo: deps.clientInfo,
      settingsOf: (server) => {
        const s = deps.serverOf(server);
        if (!s) throw new Error(`unknown server ${server}`);
        return connectionSettings(s, this.oauth);
      },
      limitOf: (server) => deps.serverOf(server)?.maxClientConnections ?? 1,
      capabilitiesOf: (sessionId) => this.capabilitiesOf(sessionId),
      hooksFor: (server, sessionId) => this.hooksFor(server, sessionId),
    });
  }

  /** The sessionMode a server runs with: its own setting, else its profile's, else "per-client". */
  modeOf(server: ResolvedServer): SessionMode {
    return server.sessionMode ?? this.deps.profileMode(server) ?? "per-client";
  }

  /** True when the server gets one connection per client session (HTTP front only). */
  isPerClient(server: string): boolean {
    if (this.front === "stdio") return false;
    let perClient = this.modes.get(server);
    if (perClient === undefined) {
      const s = this.deps.serverOf(server);
      perClient = s !== undefined && this.modeOf(s) === "per-client";
      this.modes.set(server, perClient);
    }
    return perClient;
  }

  /** A reload changed the server: its mode is looked up again and its per-client connections closed. */
  async forget(server: string): Promise<void> {
    this.modes.delete(server);
    await this.connections.closeServer(server);
  }

  /** The connection a call of `sessionId` to `server` uses; may throw SERVER_BUSY (per-client bound). */
  connectionFor(server: string, sessionId: string | undefined): DownstreamConnection | undefined {
    const shared = this.deps.pool.get(server);
    if (this.front === "stdio" || sessionId === undefined || !shared || !this.isPerClient(server))
      return shared;
    return this.connections.acquire(server, sessionId);
  }

  /** Any routed request (resources/read, prompts/get, subscribe...) on the connection of the origin's session. */
  async forward(
    server: string,
    method: string,
    params: Record<string, unknown>,
    origin: CallOrigin,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const connection = this.connectionFor(server, origin.sessionId);
    if (!connection) throw new Error(`${server} is not running`);
    const relay = this.deps.relay;
    relay.track(server, origin);
    try {
      return await connection.send(
        method,
        params,
        { signal: origin.signal, timeoutMs },
        Date.now() + timeoutMs,
      );
    } finally {
      relay.untrack(server, origin);
    }
  }

  /** Exactly what the session's client declared of sampling / elicitation / roots. */
  capabilitiesOf(sessionId: string): ClientCapabilities {
    const caps = this.deps.relay.session(sessionId)?.clientCapabilities();
    return caps ? pickRelayCapabilities(caps) : {};
  }

  private hooksFor(server: string, sessionId: string): ConnectionHooks {
    const relay = this.deps.relay;
    return {
      onStateChange: (_server, state, reason) => {
        this.deps.log.debug({ server, session: sessionId, state, reason }, "per-client connection state");
        if (state === "ready") this.applyLevel(server, sessionId);
      },
      onCatalogChanged: () => this.sessionCatalogChanged(sessionId),
      onResourceUpdated: (_server, uri) => {
        const session = relay.session(sessionId);
        // No 2025-era session of that id: a 2026-07-28 client's (src/front/httpModern.ts) listen streams.
        if (session) session.notifyResourceUpdated(uri);
        else if (this.deps.events) publishResourceUpdated(this.deps.events, uri);
      },
      onLog: (_server, params) => relay.session(sessionId)?.sendLog(logParams(server, params)),
      onServerRequest: (_server, kind, request, signal) =>
        relay.relayToSession(server, sessionId, kind, request, signal),
    };
  }

  /** resources/updated of a shared connection; a per-client server's subscriptions live on its own connections. */
  deliverResourceUpdated(server: string, uri: string): void {
    if (this.isPerClient(server)) return;
    for (const s of this.deps.relay.sessionList()) s.notifyResourceUpdated(uri);
    if (this.deps.events) publishResourceUpdated(this.deps.events, uri);
  }

  /** A log message of a shared (or template) connection: delivered only where its client is certain. */
  deliverLog(server: string, params: Record<string, unknown>): void {
    const relay = this.deps.relay;
    const message = logParams(server, params);
    if (this.front === "stdio") {
      for (const s of relay.sessionList()) s.sendLog(message);
      return;
    }
    // A per-client server's template connection serves nobody's calls.
    const sole = this.isPerClient(server) ? undefined : relay.soleCaller(server);
    const session = sole === undefined ? undefined : relay.session(sole);
    if (session) session.sendLog(message);
    else
      this.deps.log.debug(
        { server, message },
        "downstream log message not delivered: no single client session caused it",
      );
  }

  /**
   * logging/setLevel of one session: forwarded to that session's own connections; shared connections get
   * the most verbose level any session asked for (each session's messages are filtered by its own level).
   */
  async setLogLevel(sessionId: string, level: LoggingLevel): Promise<void> {
    this.levels.set(sessionId, level);
    const sends: Promise<void>[] = [];
    for (const c of this.connections.ofSession(sessionId)) sends.push(this.sendLevel(c, level));
    const shared = this.front === "stdio" ? level : this.mostVerbose();
    for (const c of this.deps.pool.all()) {
      if (shared !== undefined && !this.isPerClient(c.name)) sends.push(this.sendLevel(c, shared));
    }
    await Promise.all(sends);
  }

  private mostVerbose(): LoggingLevel | undefined {
    let best: number | undefined;
    for (const level of this.levels.values()) {
      const i = LOGGING_LEVELS.indexOf(level);
      if (best === undefined || i < best) best = i;
    }
    return best === undefined ? undefined : LOGGING_LEVELS[best];
  }

  private sendLevel(c: DownstreamConnection, level: LoggingLevel): Promise<void> {
    if (c.state !== "ready" || !c.capabilities?.logging) return Promise.resolve();
    return sendScoped(c, "logging/setLevel", { level }, this.deps.shutdown, this.deps.log);
  }

  /** A per-client connection just became ready: it gets its session's log level, if one was set. */
  private applyLevel(server: string, sessionId: string): void {
    const level = this.levels.get(sessionId);
    const c = this.connections.get(server, sessionId);
    if (level !== undefined && c) void this.sendLevel(c, level);
  }

  /** roots/list_changed from a client: its own connections hear it (shared HTTP connections have no roots). */
  rootsChanged(sessionId: string | undefined): void {
    const targets =
      this.front === "stdio" || sessionId === undefined
        ? this.deps.pool.all()
        : this.connections.ofSession(sessionId);
    for (const c of targets) void c.notify("notifications/roots/list_changed");
  }

  /**
   * Before a session lists tools: a client that declared sampling, elicitation or roots gets its own
   * connection to each per-client server now, so the tools those servers offer only to such clients
   * appear in its list (the template connections declare none of them). True when it started any.
   */
  async prepareSession(sessionId: string): Promise<boolean> {
    if (this.front === "stdio") return false;
    const caps = this.capabilitiesOf(sessionId);
    if (!caps.sampling && !caps.elicitation && !caps.roots) return false;
    const waits: Promise<unknown>[] = [];
    for (const template of this.deps.pool.all()) {
      if (template.state !== "ready" || !this.isPerClient(template.name)) continue;
      if (this.connections.get(template.name, sessionId)) continue;
      try {
        const c = this.connections.acquire(template.name, sessionId);
        if (c.state !== "ready") {
          const never = new AbortController().signal;
          const deadline = Date.now() + c.settings.connectTimeoutMs;
          waits.push(c.whenReady(never, deadline).catch(() => undefined));
        }
      } catch (error) {
        this.deps.log.warn(
          { server: template.name, session: sessionId, err: errorMessage(error) },
          "no per-client connection for this session: it sees the server's common tool list",
        );
      }
    }
    await Promise.all(waits);
    return waits.length > 0;
  }

  /** The catalog of one session: the common one unless its own connections list something else. */
  catalogFor(sessionId: string | undefined): Catalog {
    if (this.divergent.size === 0 || sessionId === undefined || !this.divergent.has(sessionId))
      return this.deps.current();
    let c = this.catalogs.get(sessionId);
    if (!c) this.catalogs.set(sessionId, (c = this.deps.buildCatalog(sessionId)));
    return c;
  }

  /** The session's own list of `server`, when its connection is ready. */
  ownCatalog(server: string, sessionId: string): DownstreamConnection["catalog"] | undefined {
    const c = this.connections.get(server, sessionId);
    return c?.state === "ready" ? c.catalog : undefined;
  }

  /** The common catalog was rebuilt: every session's own catalog is made again when next asked for. */
  invalidate(): void {
    this.catalogs.clear();
    for (const id of [...this.divergent]) this.updateDivergence(id);
  }

  private updateDivergence(sessionId: string): void {
    const differs = this.connections.ofSession(sessionId).some((c) => {
      const template = this.deps.pool.get(c.name);
      return c.state === "ready" && template !== undefined && !sameCatalog(c.catalog, template.catalog);
    });
    if (differs) this.divergent.add(sessionId);
    else this.divergent.delete(sessionId);
  }

  private sessionCatalogChanged(sessionId: string): void {
    const before = this.catalogFor(sessionId);
    this.catalogs.delete(sessionId);
    this.updateDivergence(sessionId);
    const after = this.catalogFor(sessionId);
    const session = this.deps.relay.session(sessionId);
    if (before === after) return;
    const changed = catalogChanges(before, after);
    // No 2025-era session of that id: a 2026-07-28 client's key (src/front/httpModern.ts).
    if (!session) return void (this.deps.events && publishListChanges(this.deps.events, changed));
    if (changed.tools) session.notifyListChanged("tools");
    if (changed.resources) session.notifyListChanged("resources");
    if (changed.prompts) session.notifyListChanged("prompts");
  }

  /** The session ended: its connections close, its level no longer counts. */
  async sessionClosed(sessionId: string): Promise<void> {
    this.divergent.delete(sessionId);
    this.catalogs.delete(sessionId);
    const hadLevel = this.levels.delete(sessionId);
    await this.connections.closeSession(sessionId);
    if (hadLevel && this.front === "http") {
      const level = this.mostVerbose();
      if (level !== undefined)
        for (const c of this.deps.pool.all()) if (!this.isPerClient(c.name)) void this.sendLevel(c, level);
    }
  }
}

function logParams(server: string, params: Record<string, unknown>): Record<string, unknown> {
  const logger = typeof params["logger"] === "string" ? `${server}/${params["logger"]}` : server;
  return { ...params, logger, data: params["data"] };
}
