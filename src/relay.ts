import type { ClientCapabilities } from "@modelcontextprotocol/server";
import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import type { ServerRequestKind } from "./downstream/connection.js";
import type { CallOrigin, FrontSessionHandle } from "./front/backend.js";

type Request = { method: string; params?: unknown };

/**
 * Routes a downstream's server→client request (sampling, elicitation, roots) to the front client whose
 * call caused it, and never to anyone else (docs/security.md, "Isolation between clients"):
 *
 * - a per-client connection belongs to one session: the request goes to that session (on the stream
 *   of its newest call in flight to the server when there is one);
 * - a shared connection cannot say which call caused a request: it is routed only when every call in
 *   flight to that server comes from one single session, or, with no call in flight, when exactly one
 *   session is open (the stdio front); otherwise it fails with a JSON-RPC error naming the reason.
 *
 * The client must have declared the capability; no other client's is ever used instead.
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

  session(id: string): FrontSessionHandle | undefined {
    return this.sessions.get(id);
  }

  sessionList(): FrontSessionHandle[] {
    return [...this.sessions.values()];
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * The one session whose calls are in flight to `server`: undefined when there are none or when they come
   * from more than one session (a shared connection's message cannot be attributed then).
   */
  soleCaller(server: string): string | undefined {
    let sole: string | undefined;
    for (const origin of this.inflight.get(server) ?? []) {
      if (sole === undefined) sole = origin.sessionId;
      else if (sole !== origin.sessionId) return undefined;
    }
    return sole;
  }

  /** A request from a connection that belongs to `sessionId` alone (sessionMode "per-client"). */
  relayToSession(
    server: string,
    sessionId: string,
    kind: ServerRequestKind,
    request: Request,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const session = this.sessions.get(sessionId);
    if (!session && !this.callOf(server, sessionId)) {
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `${kind} request from ${server} refused by autonomous-mcp: the client session it belongs to has closed`,
        ),
      );
    }
    return this.send(server, sessionId, session, kind, request, signal);
  }

  /** A request from a connection shared by every session: routed only when its caller is certain. */
  relay(
    server: string,
    kind: ServerRequestKind,
    request: Request,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const calls = this.inflight.get(server);
    let sessionId: string | undefined;
    if (calls && calls.size > 0) {
      sessionId = this.soleCaller(server);
      if (sessionId === undefined) {
        const count = new Set([...calls].map((c) => c.sessionId)).size;
        return Promise.reject(
          new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `${kind} request from ${server} refused by autonomous-mcp: calls from ${count} client sessions are in flight on this shared connection, so the client that caused the request cannot be told; set "sessionMode": "per-client" for ${server}`,
          ),
        );
      }
    } else if (this.sessions.size === 1) {
      sessionId = this.sessions.keys().next().value;
    } else {
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `${kind} request from ${server} refused by autonomous-mcp: no call to ${server} is in flight, so no client caused it`,
        ),
      );
    }
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (sessionId === undefined || (!session && !this.callOf(server, sessionId))) {
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `${kind} request from ${server} refused by autonomous-mcp: the client session that caused it has closed`,
        ),
      );
    }
    return this.send(server, sessionId, session, kind, request, signal);
  }

  private send(
    server: string,
    sessionId: string,
    session: FrontSessionHandle | undefined,
    kind: ServerRequestKind,
    request: Request,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    // On the stream of that session's newest call to the server (HTTP: the call's own SSE stream).
    const call = this.callOf(server, sessionId);
    // A 2026-07-28 client's held call (src/bridge/held.ts) asks in band and checks the capability itself
    // (-32021). Over HTTP such requests have no session (one id per principal): two of them in flight
    // here cannot be told apart. (Over stdio the one connection is one client.)
    if (call?.asksInBand && call.requestClient) {
      if (!session && this.callsOf(server, sessionId) > 1)
        return Promise.reject(
          new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `${kind} request from ${server} refused by autonomous-mcp: several 2026-07-28 requests of one client identity are in flight on this connection, so the one that caused it cannot be told`,
          ),
        );
      return call.requestClient(request, AbortSignal.any([signal, call.signal]));
    }
    if (!supports(call?.clientCapabilities ?? session?.clientCapabilities(), kind)) {
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.MethodNotFound,
          `${kind} request from ${server} refused by autonomous-mcp: the client whose call caused it does not support ${kind}`,
        ),
      );
    }
    if (call?.requestClient) return call.requestClient(request, AbortSignal.any([signal, call.signal]));
    if (!session)
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `${kind} request from ${server} refused by autonomous-mcp: the client session that caused it has closed`,
        ),
      );
    return session.request(request, signal);
  }

  private callsOf(server: string, sessionId: string): number {
    let n = 0;
    for (const origin of this.inflight.get(server) ?? []) if (origin.sessionId === sessionId) n++;
    return n;
  }

  /** The session's newest call in flight to the server that can send its client requests. */
  private callOf(server: string, sessionId: string): CallOrigin | undefined {
    const calls = [...(this.inflight.get(server) ?? [])];
    for (let i = calls.length - 1; i >= 0; i--) {
      const origin = calls[i];
      if (origin?.sessionId === sessionId && origin.requestClient) return origin;
    }
    return undefined;
  }
}

function supports(caps: ClientCapabilities | undefined, kind: ServerRequestKind): boolean {
  return Boolean(caps?.[kind]);
}

/** The client capabilities the downstreams are offered: only what we can relay to the front client. */
export function pickRelayCapabilities(caps: ClientCapabilities): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (caps.sampling) out.sampling = caps.sampling;
  if (caps.elicitation) out.elicitation = caps.elicitation;
  if (caps.roots) out.roots = { listChanged: true };
  return out;
}
