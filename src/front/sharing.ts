import type { JSONRPCMessage } from "@modelcontextprotocol/server";

/** What a sealed session id says: the session's initialize request and the principal that sent it. */
export interface SealedSession {
  /** The `params` of the client's initialize request, verbatim (replayed to rebuild the session). */
  readonly initialize: Readonly<Record<string, unknown>>;
  readonly principal: string;
}

/**
 * How a session's messages cross replicas (src/cluster/sessions.ts implements it over Redis pub/sub).
 * Each method is fire-and-forget: a message that cannot be sent is lost exactly as on a dropped stream.
 */
export interface SessionPeers {
  /** This replica's id: it tags the ids of the server→client requests this replica sends. */
  readonly replicaId: string;
  /** A client's answer to a request `replica` sent on `session`: delivered to that replica. */
  reply(session: string, replica: string, message: JSONRPCMessage): void;
  /** A client's notifications/cancelled: every replica holding the session delivers it. */
  cancelled(session: string, message: JSONRPCMessage): void;
  /** A session-wide message (no request of its own): the replica holding the session's GET stream sends it. */
  push(session: string, message: JSONRPCMessage): void;
}

/**
 * Legacy (2025-era) HTTP sessions shared by replicas behind a load balancer with no affinity
 * (docs/adr/0023-sessions-across-replicas.md): the session id is the session's initialize outcome, sealed,
 * so any replica rebuilds the session on first sight; a DELETE is recorded for all.
 */
export interface SessionSharing {
  readonly peers: SessionPeers;
  /** The id of a new session: its initialize params and principal, sealed. */
  seal(session: SealedSession): string;
  /** An id's contents, or undefined when it is not one of ours (unsealable, expired). */
  open(id: string): SealedSession | undefined;
  /** True when the session was deleted on some replica (rejects while the shared state is unreachable). */
  isDeleted(id: string): Promise<boolean>;
  /** Records a client's DELETE for every replica (the others close their copies). */
  deleted(id: string): Promise<void>;
  /**
   * Starts delivering other replicas' messages for local sessions: `local(id)` is this replica's copy of a
   * session, if it has one; `close(id)` drops a copy whose session was deleted elsewhere.
   */
  serve(local: (id: string) => SessionEndpoint | undefined, close: (id: string) => void): void;
}

/** What the sharing layer may do to this replica's copy of a session (src/front/httpSession.ts). */
export interface SessionEndpoint {
  /** A message from another replica (a reply, a cancellation or a push), as if it came over this session. */
  deliver(kind: "reply" | "cancelled" | "push", message: JSONRPCMessage): void;
}
