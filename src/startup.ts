import type { CacheHint, ServerCapabilities } from "@modelcontextprotocol/server";
import type { AbsentServer } from "./catalog/absent.js";
import type { ToolOverrideView } from "./catalog/policy.js";
import type { ResolvedServer } from "./config/load.js";
import type { DownstreamConnection, ServerState } from "./downstream/connection.js";
import { AggregatorError, isAggregatorError } from "./errors.js";
import type { CallOrigin } from "./front/backend.js";
import { DISABLED_REASON } from "./config/resolve.js";

/**
 * Start-up bookkeeping (docs/adr/0003): since when each server is in its state, which servers have
 * settled (first ready, failed or restarting), and the grace after which the fronts answer without the
 * servers still starting.
 */
export class StartupState {
  /** Start-up progress hook: each server's first ready/failed/restarting. */
  onSettled: ((server: string, state: ServerState) => void) | undefined;
  private readonly settled = new Set<string>();
  private readonly since = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A server is being started (its connection begins in "starting"). */
  begin(server: string): void {
    this.since.set(server, this.now());
  }

  changed(server: string, state: ServerState): void {
    this.since.set(server, this.now());
    if ((state === "ready" || state === "failed" || state === "restarting") && !this.settled.has(server)) {
      this.settled.add(server);
      this.onSettled?.(server, state);
    }
  }

  /** When the server entered its current state (ms since the epoch), if it was started. */
  sinceOf(server: string): number | undefined {
    return this.since.get(server);
  }

  forget(server: string): void {
    this.since.delete(server);
  }
}

/**
 * Waits for `work` or `graceMs`, whichever comes first; true when `work` finished. An infinite grace
 * waits for `work`. The timer never keeps the process alive.
 */
export async function withinGrace(work: Promise<unknown>, graceMs: number): Promise<boolean> {
  if (!Number.isFinite(graceMs)) {
    await work;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true as const), grace]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server that has not listed anything yet and may still: starting, or restarting before its first list. */
export function stillStarting(c: DownstreamConnection): boolean {
  return (c.state === "starting" || c.state === "restarting") && c.capabilities === undefined;
}

/**
 * What a front declares while some server is still starting: its resources and prompts may join later,
 * so both lists are declared (empty until it does) and their list_changed notifications reach the
 * client. Logging, completions and resource subscriptions are declared only once a server has them.
 */
export function withPendingCapabilities(
  caps: ServerCapabilities,
  connections: readonly DownstreamConnection[],
): ServerCapabilities {
  if (!connections.some(stillStarting)) return caps;
  return {
    ...caps,
    resources: caps.resources ?? { listChanged: true, subscribe: false },
    prompts: caps.prompts ?? { listChanged: true },
  };
}

/** Configured servers whose tools the catalog does not have (for answers better than "Unknown tool"). */
export function absentServers(
  servers: Iterable<ResolvedServer>,
  connectionOf: (name: string) => DownstreamConnection | undefined,
  knownTools: (server: ResolvedServer) => Readonly<Record<string, ToolOverrideView>> | undefined,
): AbsentServer[] {
  const out: AbsentServer[] = [];
  for (const s of servers) {
    const c = connectionOf(s.name);
    const listed = c !== undefined && (c.state === "ready" || c.catalog.tools.length > 0);
    if (listed) continue;
    out.push({
      name: s.name,
      prefix: s.prefix,
      readOnly: s.readOnly,
      tools: s.tools,
      known: knownTools(s),
    });
  }
  return out;
}

/**
 * A call to a tool of a server that is not listed: waits for a server that is still starting (within the
 * server's call timeout and the caller's cancellation) and resolves when it is ready, so the caller
 * resolves the name again; otherwise rejects with the reason and the fix.
 */
export async function awaitAbsent(
  s: ResolvedServer,
  c: DownstreamConnection | undefined,
  since: number | undefined,
  origin: CallOrigin,
): Promise<void> {
  const unavailable = (message: string): AggregatorError =>
    new AggregatorError("SERVER_UNAVAILABLE", `the server ${s.name} ${message}`, {
      details: { server: s.name },
    });
  if (s.skipReason !== undefined) {
    if (s.skipReason === DISABLED_REASON)
      throw unavailable("is disabled in the config: enable it there (a saved config is reloaded)");
    if (s.skipReason.startsWith("set "))
      throw unavailable(`was skipped: ${s.skipReason} and restart (or reload the config)`);
    throw unavailable(`was skipped: ${s.skipReason}`);
  }
  if (!c || c.state === "stopped") throw unavailable("is not running");
  if (c.state === "starting" || c.state === "restarting") {
    try {
      await c.whenReady(origin.signal, Date.now() + s.timeoutMs);
      return;
    } catch (error) {
      if (!isAggregatorError(error, "SERVER_UNAVAILABLE")) throw error;
      if (stateOf(c) !== "failed") {
        const at = since === undefined ? "" : ` (since ${new Date(since).toISOString()})`;
        throw unavailable(`is still starting${at}; try again shortly, or see the status tool`);
      }
    }
  }
  if (stateOf(c) === "failed") {
    const why = c.lastError?.message ?? "no reason recorded";
    throw unavailable(
      `failed to start: ${why}. The status tool shows its state and \`autonomous-mcp doctor\` the fix; it is tried again every ${Math.round(s.restart.windowMs / 1000)} s`,
    );
  }
}

/** The connection's state now (read again after an await). */
function stateOf(c: DownstreamConnection): ServerState {
  return c.state;
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

/** How long a 2026-07-28 client may reuse a list once every server has settled (ttlMs). */
export const SETTLED_LIST_TTL_MS = 60_000;

/**
 * The `ttlMs` / `cacheScope` of the list results (tools, resources, templates, prompts) a 2026-07-28
 * client gets, from what the catalog knows:
 * - `ttlMs` 0 while a server is starting or restarting (its entries are about to join or leave the
 *   lists), else SETTLED_LIST_TTL_MS: a later change is announced on `subscriptions/listen`.
 * - `cacheScope` "private" when a client may be shown lists of its own (a per-client server's
 *   connections list what that client's capabilities unlock), else "public": every client is shown the
 *   same lists.
 */
export function listCacheHint(
  connections: readonly DownstreamConnection[],
  isolation: { isPerClient(server: string): boolean },
): CacheHint {
  let settled = true;
  let shared = true;
  for (const c of connections) {
    if (c.state === "starting" || c.state === "restarting") settled = false;
    if (c.state === "ready" && isolation.isPerClient(c.name)) shared = false;
  }
  return { ttlMs: settled ? SETTLED_LIST_TTL_MS : 0, cacheScope: shared ? "public" : "private" };
}
