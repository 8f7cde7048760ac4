import { wireError } from "./errors.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import type { ServerRequestKind } from "./downstream/connection.js";
import type { CallOrigin, FrontSessionHandle } from "./front/backend.js";

/**
 * Routes a downstream's server→client request (sampling, elicitation, roots) to the front client whose
 * call caused it: the newest in-flight call to that server from a client that has the capability.
 * With no call in flight (e.g. roots/list right after initialize) the newest capable session answers.
 */
export class RequestRelay {
  private readonly inflight = new Map<string, Set<CallOrigin>>();
  private readonly sessions = new Map<string, FrontSessionHandle>();

  /** The call may relay server→client requests while it runs; `untrack` when it ends (no closure per call). */
  track(server: string, origin: CallOrigin): void {
    let calls = this.inflight.get(server);
    if (!calls) this.inflight.set(server, (calls = new Set()));
    calls.add(origin);
  }

  untrack(server: string, origin: CallOrigin): void {
    this.inflight.get(server)?.delete(origin);
  }

  inflightCount(server: string): number {
    return this.inflight.get(server)?.size ?? 0;
  }

  addSession(session: FrontSessionHandle): void {
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
  }

  removeSession(id: string): void {
    this.sessions.delete(id);
  }

  sessionList(): FrontSessionHandle[] {
    return [...this.sessions.values()];
  }

  async relay(
    server: string,
    kind: ServerRequestKind,
    request: { method: string; params?: unknown },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    // The most recent call first (a Set keeps insertion order).
    const calls = [...(this.inflight.get(server) ?? [])];
    for (let i = calls.length - 1; i >= 0; i--) {
      const origin = calls[i];
      if (origin?.requestClient && supports(origin.clientCapabilities, kind)) {
        return origin.requestClient(request, AbortSignal.any([signal, origin.signal]));
      }
    }
    const sessions = [...this.sessions.values()].reverse();
    const session = sessions.find((s) => supports(s.clientCapabilities(), kind));
    if (session) return session.request(request, signal);
    throw wireError(
      ErrorCode.MethodNotFound,
      `${kind} is not supported by any connected client of autonomous-mcp`,
    );
  }
}

function supports(caps: ClientCapabilities | undefined, kind: ServerRequestKind): boolean {
  return Boolean(caps?.[kind]);
}
