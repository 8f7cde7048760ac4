import type { ClientCapabilities, Implementation } from "@modelcontextprotocol/client";
import { AggregatorError } from "../errors.js";
import type { Logger } from "../logger.js";
import { DownstreamConnection, type ConnectionHooks, type ConnectionSettings } from "./connection.js";
import { VerdictCache } from "./verdicts.js";

export interface PerClientOptions {
  readonly log: Logger;
  readonly clientInfo: Implementation;
  /** The settings of a server's connection (the same as its template connection's). */
  readonly settingsOf: (server: string) => ConnectionSettings;
  /** At most this many sessions may have their own connection to `server` at once. */
  readonly limitOf: (server: string) => number;
  /** What we declare to that session's connection: exactly what its client declared (sampling/elicitation/roots). */
  readonly capabilitiesOf: (sessionId: string) => ClientCapabilities;
  /** Hooks of the connection that belongs to `sessionId` alone. */
  readonly hooksFor: (server: string, sessionId: string) => ConnectionHooks;
}

/**
 * sessionMode "per-client": one downstream connection (own process for stdio, own MCP session for HTTP)
 * per (server, front client session), created on the session's first use and closed when the session
 * ends. The server's template connection in the pool keeps the catalog, the breaker and the status.
 */
export class PerClientConnections {
  private readonly byServer = new Map<string, Map<string, DownstreamConnection>>();
  /** Era verdicts: a server's first session connection probes it, the others connect with the verdict. */
  private readonly verdicts = new VerdictCache();

  constructor(private readonly options: PerClientOptions) {}

  /** The session's connection to `server`, started now if it has none (it answers once ready). */
  acquire(server: string, sessionId: string): DownstreamConnection {
    let sessions = this.byServer.get(server);
    const existing = sessions?.get(sessionId);
    if (existing) return existing;
    const limit = this.options.limitOf(server);
    if ((sessions?.size ?? 0) >= limit) {
      throw new AggregatorError(
        "SERVER_BUSY",
        `${server} already has ${limit} per-client connections (maxClientConnections): no connection for one more client session until another session ends`,
        { details: { server, limit } },
      );
    }
    if (!sessions) this.byServer.set(server, (sessions = new Map()));
    const log = this.options.log.child({ server, session: sessionId });
    const capabilities = this.options.capabilitiesOf(sessionId);
    const connection = new DownstreamConnection(this.options.settingsOf(server), {
      log,
      clientInfo: this.options.clientInfo,
      clientCapabilities: () => capabilities,
      hooks: this.options.hooksFor(server, sessionId),
      verdicts: this.verdicts,
    });
    sessions.set(sessionId, connection);
    log.debug("per-client connection starting");
    void connection.start();
    return connection;
  }

  /** The session's connection to `server` if it has one. */
  get(server: string, sessionId: string): DownstreamConnection | undefined {
    return this.byServer.get(server)?.get(sessionId);
  }

  /** Every connection of one session. */
  ofSession(sessionId: string): DownstreamConnection[] {
    const out: DownstreamConnection[] = [];
    for (const sessions of this.byServer.values()) {
      const c = sessions.get(sessionId);
      if (c) out.push(c);
    }
    return out;
  }

  count(server: string): number {
    return this.byServer.get(server)?.size ?? 0;
  }

  /** The session ended (closed, deleted or idled out): its connections are closed. */
  async closeSession(sessionId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const sessions of this.byServer.values()) {
      const c = sessions.get(sessionId);
      if (!c) continue;
      sessions.delete(sessionId);
      // An HTTP server's MCP session is ended (DELETE) first, waiting at most 2 s for it.
      closing.push(settleWithin(c.endSession(), 2_000).then(() => c.close()));
    }
    await Promise.all(closing);
  }

  /** The server was removed or restarted by a reload. */
  async closeServer(server: string): Promise<void> {
    const sessions = this.byServer.get(server);
    this.byServer.delete(server);
    await Promise.all([...(sessions?.values() ?? [])].map((c) => c.close()));
  }

  async closeAll(): Promise<void> {
    const all = [...this.byServer.values()].flatMap((m) => [...m.values()]);
    this.byServer.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

/** Waits for `work` (its failure ignored), but no longer than `ms`. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
