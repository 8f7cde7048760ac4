import type { ClientCapabilities } from "@modelcontextprotocol/server";
import { Catalog, type BuiltinTool, type CatalogSource, type ResourceRoute } from "./catalog/catalog.js";
import type { Config, ResolvedServer } from "./config/load.js";
import type { DownstreamCatalog } from "./downstream/listing.js";
import type { BuiltinProfile } from "./profiles/index.js";
import type { CatalogServerView, ToolOverrideView } from "./catalog/policy.js";
import type { ConnectionSettings, DownstreamConnection, ServerState } from "./downstream/connection.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { BreakerRegistry } from "./pipeline/middleware/breaker.js";
import { absentServers } from "./startup.js";
import type { CallOrigin, FrontSessionHandle } from "./front/backend.js";

/**
 * resources/subscribe across sessions. On a shared connection the downstream is subscribed when the first
 * session subscribes to a URI and unsubscribed when the last one leaves (or closes). A per-client server
 * gets each session's subscribe and unsubscribe on that session's own connection.
 */
export class Subscriptions {
  private readonly subscribers = new Map<string, Set<string>>();

  constructor(
    private readonly resolve: (uri: string) => ResourceRoute | undefined,
    private readonly canSubscribe: (server: string) => boolean,
    private readonly send: (server: string, method: string, uri: string, sessionId: string) => Promise<void>,
    private readonly perClient: (server: string) => boolean = () => false,
  ) {}

  async subscribe(uri: string, sessionId: string): Promise<void> {
    let set = this.subscribers.get(uri);
    if (!set) this.subscribers.set(uri, (set = new Set()));
    const first = set.size === 0;
    const fresh = !set.has(sessionId);
    set.add(sessionId);
    const route = this.resolve(uri);
    if (!route || !this.canSubscribe(route.server)) return;
    if (this.perClient(route.server) ? fresh : first) {
      await this.send(route.server, "resources/subscribe", route.uri, sessionId);
    }
  }

  async unsubscribe(uri: string, sessionId: string, closing = false): Promise<void> {
    const set = this.subscribers.get(uri);
    if (!set?.delete(sessionId)) return;
    if (set.size === 0) this.subscribers.delete(uri);
    const route = this.resolve(uri);
    if (!route || !this.canSubscribe(route.server)) return;
    // A closing session's own connection is closed with it: nothing to tell.
    const last = this.perClient(route.server) ? !closing : set.size === 0;
    if (last) await this.send(route.server, "resources/unsubscribe", route.uri, sessionId);
  }

  dropSession(sessionId: string): void {
    for (const [uri, set] of this.subscribers) {
      if (set.has(sessionId)) void this.unsubscribe(uri, sessionId, true).catch(() => undefined);
    }
  }
}

/** What a config reload changes: servers added, removed, and those whose resolved entry differs. */
export function diffServers(
  before: ReadonlyMap<string, ResolvedServer>,
  after: ReadonlyMap<string, ResolvedServer>,
): { added: string[]; removed: string[]; restarted: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  const restarted: string[] = [];
  for (const name of before.keys()) if (!after.has(name)) removed.push(name);
  for (const [name, s] of after) {
    const old = before.get(name);
    if (!old) added.push(name);
    else if (JSON.stringify(old) !== JSON.stringify(s)) restarted.push(name);
  }
  return { added, removed, restarted };
}

export function internalOrigin(sessionId: string): CallOrigin {
  return { sessionId, signal: new AbortController().signal, clientCapabilities: undefined };
}

export function pickRelayCapabilities(caps: ClientCapabilities): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (caps.sampling) out.sampling = caps.sampling;
  if (caps.elicitation) out.elicitation = caps.elicitation;
  if (caps.roots) out.roots = { listChanged: true };
  return out;
}

export function connectionSettings(s: ResolvedServer): ConnectionSettings {
  return {
    name: s.name,
    type: s.type,
    command: s.command,
    args: s.args,
    env: s.env,
    cwd: s.cwd,
    url: s.url,
    headers: s.headers,
    connectTimeoutMs: s.connectTimeoutMs,
    restart: s.restart,
    healthCheckIntervalMs: s.healthCheckIntervalMs,
    maxWriteQueueBytes: s.maxWriteQueueBytes,
    maxResultBytes: s.maxResultBytes,
    maxJsonDepth: s.maxJsonDepth,
  };
}

/** The per-server settings the catalog reads, with the server's built-in safety profile. */
export function catalogView(
  server: ResolvedServer,
  profile: Readonly<Record<string, ToolOverrideView>> | undefined,
): CatalogServerView {
  return {
    name: server.name,
    prefix: server.prefix,
    trustAnnotations: server.trustAnnotations,
    readOnly: server.readOnly,
    timeoutMs: server.timeoutMs,
    totalTimeoutMs: server.totalTimeoutMs,
    tools: server.tools,
    profile,
  };
}

export interface StartSummary {
  readonly tools: number;
  readonly ready: string[];
  readonly failed: { name: string; reason: string }[];
  readonly skipped: { name: string; reason: string }[];
  /** Still connecting when start() returned (after the start-up grace): they join later. */
  readonly starting: string[];
}

/** Which servers are ready, failed or skipped, for the start-up line and `tools`. */
export function startSummary(
  servers: readonly ResolvedServer[],
  connectionOf: (name: string) => DownstreamConnection | undefined,
  tools: number,
): StartSummary {
  const ready: string[] = [];
  const failed: { name: string; reason: string }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const starting: string[] = [];
  for (const s of servers) {
    if (s.skipReason !== undefined) {
      skipped.push({ name: s.name, reason: s.skipReason });
      continue;
    }
    const c = connectionOf(s.name);
    if (c?.state === "ready") ready.push(s.name);
    else if (c?.state === "starting") starting.push(s.name);
    else failed.push({ name: s.name, reason: c?.lastError?.message ?? c?.state ?? "not started" });
  }
  return { tools, ready, failed, skipped, starting };
}

/** Which lists differ between two catalogs (clients are told only about real changes). */
export function catalogChanges(
  before: Catalog,
  next: Catalog,
): { tools: boolean; resources: boolean; prompts: boolean } {
  const a = listKeys(before);
  const b = listKeys(next);
  return {
    tools: a.tools !== b.tools,
    resources: a.resources !== b.resources,
    prompts: a.prompts !== b.prompts,
  };
}

/** Each catalog's lists serialised once (a rebuild compares the new catalog with the previous one). */
const keys = new WeakMap<Catalog, { tools: string; resources: string; prompts: string }>();
function listKeys(c: Catalog): { tools: string; resources: string; prompts: string } {
  let k = keys.get(c);
  if (!k) {
    k = {
      tools: JSON.stringify(c.toolList),
      resources: JSON.stringify([c.resourceList, c.templateList]),
      prompts: JSON.stringify(c.promptList),
    };
    keys.set(c, k);
  }
  return k;
}

/** A server's state change: metrics, its breaker (forced open while failed) and one log line. */
export function reportServerState(
  agg: { readonly log: Logger; readonly metrics: Metrics | undefined; readonly breakers: BreakerRegistry },
  server: string,
  state: ServerState,
  reason: string | undefined,
): void {
  const log = agg.log.child({ server });
  agg.metrics?.setServerUp(server, state === "ready");
  if (state === "restarting") agg.metrics?.incRestarts(server);
  if (state === "failed") {
    agg.breakers.forceOpen(server, reason ?? "server failed");
    log.error({ reason }, "server failed");
  } else if (state === "ready") {
    agg.breakers.reset(server);
    log.info("server ready");
  } else if (state === "restarting") {
    log.warn({ reason }, "server restarting");
  }
}

/** The catalog from the servers' lists (`own(server)`, when set, replaces a template connection's list). */
export function buildCatalog(from: {
  readonly connections: readonly DownstreamConnection[];
  readonly serverOf: (name: string) => ResolvedServer | undefined;
  readonly profileOf: (server: ResolvedServer) => BuiltinProfile | undefined;
  readonly own: (server: string) => DownstreamCatalog | undefined;
  readonly builtins: readonly BuiltinTool[];
  readonly config: Config;
  /** Every configured server: those without a listed catalog become the catalog's absent names. */
  readonly servers: Iterable<ResolvedServer>;
  readonly connectionOf: (name: string) => DownstreamConnection | undefined;
}): Catalog {
  const sources: CatalogSource[] = [];
  const order = Object.keys(from.config.mcpServers); // settles equal claims to a name (ADR 0001)
  for (const connection of from.connections) {
    const server = from.serverOf(connection.name);
    if (!server) continue;
    sources.push({
      server: catalogView(server, from.profileOf(server)?.tools),
      catalog: from.own(connection.name) ?? connection.catalog,
      order: order.indexOf(server.name),
    });
  }
  const config = from.config;
  return new Catalog(sources, from.builtins, {
    separator: config.namespaceSeparator,
    maxLength: config.maxToolNameLength,
    readOnly: config.readOnly,
    exposure: config.exposure,
    absent: absentServers(from.servers, from.connectionOf, (s) => from.profileOf(s)?.tools),
  });
}

/** Tells every session which lists changed between two catalogs (nothing compared when nobody listens). */
export function notifyListChanges(
  before: Catalog,
  next: Catalog,
  sessions: readonly FrontSessionHandle[],
): void {
  // Nobody to tell (start-up: sessions open after initialize): no comparison of the lists at all.
  if (sessions.length === 0) return;
  const changed = catalogChanges(before, next);
  for (const session of sessions) {
    if (changed.tools) session.notifyListChanged("tools");
    if (changed.resources) session.notifyListChanged("resources");
    if (changed.prompts) session.notifyListChanged("prompts");
  }
}
