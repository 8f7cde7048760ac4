import type { ClientCapabilities, Implementation, ServerCapabilities } from "@modelcontextprotocol/client";
import { TASKS_EXTENSION } from "../extensions/tasks.js";
import { follow } from "../signals.js";
import type { Logger } from "../logger.js";
import { DownstreamConnection, type ConnectionHooks, type ConnectionSettings } from "./connection.js";
import type { CreatedTransport } from "./transports.js";
import { VerdictCache } from "./verdicts.js";

export interface PoolOptions {
  readonly log: Logger;
  readonly clientInfo: Implementation;
  readonly clientCapabilities: () => ClientCapabilities;
  readonly hooks: ConnectionHooks;
  /** Transports the CLI started before the aggregator loaded (each used by its server's first start). */
  readonly prespawned?: Map<string, CreatedTransport>;
}

/** One connection per configured server, shared by every front session. */
export class ConnectionPool {
  private readonly connections = new Map<string, DownstreamConnection>();
  private closed = false;
  /** Each server's era verdict, reused by its restarts and by its per-client connections. */
  readonly verdicts = new VerdictCache();

  constructor(private readonly options: PoolOptions) {}

  get(name: string): DownstreamConnection | undefined {
    return this.connections.get(name);
  }

  all(): DownstreamConnection[] {
    return [...this.connections.values()];
  }

  /** Adds and starts a server; resolves when it is ready or has failed (never rejects). */
  async add(settings: ConnectionSettings): Promise<DownstreamConnection> {
    const existing = this.connections.get(settings.name);
    if (existing) await existing.close();
    const connection = new DownstreamConnection(settings, {
      log: this.options.log.child({ server: settings.name }),
      clientInfo: this.options.clientInfo,
      clientCapabilities: this.options.clientCapabilities,
      hooks: this.options.hooks,
      verdicts: this.verdicts,
      takePrespawned: (server) => {
        const created = this.options.prespawned?.get(server);
        this.options.prespawned?.delete(server);
        return created;
      },
    });
    // Shut down meanwhile (a signal during start-up): nothing may be started any more.
    if (this.closed) {
      await connection.close();
      return connection;
    }
    this.connections.set(settings.name, connection);
    await connection.start();
    return connection;
  }

  /** Starts every server in parallel, each with its own connect timeout. */
  async startAll(settings: readonly ConnectionSettings[]): Promise<void> {
    await Promise.all(settings.map((s) => this.add(s)));
  }

  async remove(name: string): Promise<void> {
    const connection = this.connections.get(name);
    if (!connection) return;
    this.connections.delete(name);
    await connection.close();
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    // Pre-spawned processes never adopted (their server was removed by a reload) are stopped too.
    const orphans = [...(this.options.prespawned?.values() ?? [])];
    this.options.prespawned?.clear();
    await Promise.all(orphans.map((o) => o.transport.close().catch(() => undefined)));
    const all = this.all();
    this.connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  /** Sends a request to every ready server that has `capability` (logging/setLevel); failures are logged. */
  async broadcast(
    method: string,
    params: Record<string, unknown>,
    capability: "logging",
    signal: AbortSignal,
  ): Promise<void> {
    const targets = this.all().filter((c) => c.state === "ready" && c.capabilities?.[capability]);
    await Promise.all(targets.map((c) => sendScoped(c, method, params, signal, this.options.log)));
  }

  /** What the front may advertise: only what some connected server has. */
  unionCapabilities(): ServerCapabilities {
    const caps: ServerCapabilities = { tools: { listChanged: true } };
    for (const c of this.connections.values()) {
      const own = c.capabilities;
      if (!own) continue;
      if (own.resources) {
        caps.resources = {
          listChanged: true,
          subscribe: Boolean(caps.resources?.subscribe || own.resources.subscribe),
        };
      }
      if (own.prompts) caps.prompts = { listChanged: true };
      if (own.logging) caps.logging = {};
      if (own.completions) caps.completions = {};
      // Tasks are routed to their server (src/front/tasks.ts): offered when a server offers them.
      if (own.tasks?.requests?.tools?.call) caps.tasks = { cancel: {}, requests: { tools: { call: {} } } };
      if (own.extensions?.[TASKS_EXTENSION]) caps.extensions = { ...caps.extensions, [TASKS_EXTENSION]: {} };
    }
    return caps;
  }
}

/**
 * One short request under a long-lived signal (shutdown). The SDK adds an abort listener to the signal it
 * is given and never removes it, so the request gets its own AbortController, following `signal` only
 * while it runs (pipeline/signals.ts `follow`: one listener on `signal` for all of them, none after).
 */
export async function sendScoped(
  connection: DownstreamConnection,
  method: string,
  params: Record<string, unknown>,
  signal: AbortSignal,
  log: Logger,
  timeoutMs = 10_000,
): Promise<void> {
  if (signal.aborted) return;
  const own = new AbortController();
  const untie = follow(signal, own);
  try {
    await connection.send(method, params, { signal: own.signal, timeoutMs }, Date.now() + timeoutMs);
  } catch (error) {
    log.debug({ server: connection.name, err: String(error) }, `${method} failed`);
  } finally {
    untie();
  }
}
