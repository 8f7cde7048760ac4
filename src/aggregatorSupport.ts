import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { Catalog, ResourceRoute } from "./catalog/catalog.js";
import type { CatalogServerView, ToolOverrideView } from "./catalog/policy.js";
import type { DownstreamConnection } from "./downstream/connection.js";
import type { ResolvedServer } from "./config/load.js";
import type { ConnectionSettings } from "./downstream/connection.js";
import type { CallOrigin } from "./front/backend.js";

/**
 * resources/subscribe across sessions: the downstream is subscribed when the first session subscribes
 * to a URI and unsubscribed when the last one leaves (or closes).
 */
export class Subscriptions {
  private readonly subscribers = new Map<string, Set<string>>();

  constructor(
    private readonly resolve: (uri: string) => ResourceRoute | undefined,
    private readonly canSubscribe: (server: string) => boolean,
    private readonly send: (server: string, method: string, uri: string, sessionId: string) => Promise<void>,
  ) {}

  async subscribe(uri: string, sessionId: string): Promise<void> {
    let set = this.subscribers.get(uri);
    if (!set) this.subscribers.set(uri, (set = new Set()));
    const first = set.size === 0;
    set.add(sessionId);
    const route = this.resolve(uri);
    if (first && route && this.canSubscribe(route.server)) {
      await this.send(route.server, "resources/subscribe", route.uri, sessionId);
    }
  }

  async unsubscribe(uri: string, sessionId: string): Promise<void> {
    const set = this.subscribers.get(uri);
    if (!set?.delete(sessionId) || set.size > 0) return;
    this.subscribers.delete(uri);
    const route = this.resolve(uri);
    if (route && this.canSubscribe(route.server)) {
      await this.send(route.server, "resources/unsubscribe", route.uri, sessionId);
    }
  }

  dropSession(sessionId: string): void {
    for (const [uri, set] of this.subscribers) {
      if (set.has(sessionId)) void this.unsubscribe(uri, sessionId).catch(() => undefined);
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
  for (const s of servers) {
    if (s.skipReason !== undefined) {
      skipped.push({ name: s.name, reason: s.skipReason });
      continue;
    }
    const c = connectionOf(s.name);
    if (c?.state === "ready") ready.push(s.name);
    else failed.push({ name: s.name, reason: c?.lastError?.message ?? c?.state ?? "not started" });
  }
  return { tools, ready, failed, skipped };
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
