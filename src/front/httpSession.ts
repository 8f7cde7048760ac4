import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { Writable } from "node:stream";
import type {
  JSONRPCMessage,
  MessageExtraInfo,
  RequestId,
  Transport,
  TransportSendOptions,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { JsonAnswers, postedRequestId } from "./jsonAnswer.js";
import { mountOnNode, type NodeMount } from "./nodeMount.js";
import type { SessionEndpoint, SessionPeers } from "./sharing.js";

/**
 * How long a POST's answer is held in the socket (corked) before what the SDK wrote so far is sent, for
 * POSTs that cannot be answered as JSON (front/jsonAnswer.ts: initialize, batches, calls with a progress
 * token; a JSON answer is one write already). The SDK answers them as an event stream: headers first, then each event, then the end, each a write
 * of its own, and each write wakes the client. A call that ends within the hold goes out in one write
 * (end() uncorks); a longer one has its headers, priming event and progress sent once the hold is over,
 * and every later event at once. A request to the client (elicitation, sampling, roots) releases the hold
 * at once: the call cannot go on before the client has it.
 */
const ANSWER_HOLD_MS = 20;

/** Drops this close to each other (ms) are cancelled together when the first one's grace is over. */
const DROP_BATCH_MS = 250;

/** Why a call whose answer can no longer be delivered was cancelled (notifications/cancelled reason). */
const CLOSED_BEFORE_ANSWER = "the client closed its HTTP request before the answer";

/**
 * One Streamable HTTP session as its SDK Server sees it: the SDK's transport, plus the one thing the SDK
 * does not do. A POST whose response closes before the answers to its requests went out leaves those
 * requests running downstream for nobody; here they are cancelled (as if the client had sent
 * notifications/cancelled): at once when the client cannot resume (no priming event: protocol before
 * 2025-11-25), else after `resumeGraceMs` unless a client of this session came back with Last-Event-ID
 * meanwhile (the SDK replays from the event store). Every message passes through unchanged.
 */
export class HttpSessionTransport implements Transport, SessionEndpoint {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private closed = false;
  /** Requests of POSTs not answered yet (see watchPost). */
  private readonly pending = new Set<RequestId>();
  /** When a client last came back with Last-Event-ID (keeps the calls of a dropped stream alive). */
  private lastResume = 0;
  /** The SDK's transport on Node's http (front/nodeMount.ts, the same mount as the 2026-07-28 leg's). */
  private readonly node: NodeMount;
  /** POSTs answered as JSON unless something must stream (front/jsonAnswer.ts). */
  private readonly json = new JsonAnswers();
  /** The request id of each POST being answered that way, by its response (decided once, in handle()). */
  private readonly jsonPosts = new WeakMap<ServerResponse, RequestId>();

  constructor(
    private readonly inner: WebStandardStreamableHTTPServerTransport,
    private readonly resumeGraceMs: number,
    /** Cluster mode: the other replicas serving this session (src/front/sharing.ts). */
    private readonly peers?: SessionPeers,
  ) {
    this.node = mountOnNode(
      (request, context, res) => {
        const id = this.jsonPosts.get(res);
        if (id === undefined) return inner.handleRequest(request, context);
        return this.json.answer(id, () => inner.handleRequest(request, context), res);
      },
      (error) => this.onerror?.(error),
    );
    inner.onmessage = peers
      ? (message, extra) => this.fromClient(message, extra)
      : (message, extra) => this.onmessage?.(message, extra);
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.closed = true;
      this.pending.clear();
      this.dropped.clear();
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setSupportedProtocolVersions(versions: string[]): void {
    this.inner.setSupportedProtocolVersions?.(versions);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Releases of the answers held (corked) right now: see ANSWER_HOLD_MS. */
  private readonly held = new Set<() => void>();

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.json.note(message, options);
    if (this.pending.size > 0 && ("result" in message || "error" in message))
      this.pending.delete(message.id as RequestId);
    // A request to the client (elicitation, sampling, roots) waits for its answer: never held back.
    if (this.held.size > 0 && "method" in message && "id" in message) queueMicrotask(() => this.released());
    if (this.peers) return this.sendShared(message, options);
    return this.inner.send(message, options);
  }

  private released(): void {
    for (const release of [...this.held]) release();
  }

  // ---- cluster mode (docs/adr/0023-sessions-across-replicas.md) ----

  /** Open GET streams of this session on this replica (the standalone stream lives on one replica). */
  private getStreams = 0;
  /** Ids of the server→client requests this replica sent, as tagged on the wire → as the SDK made them. */
  private readonly tagged = new Map<string, RequestId>();
  private nextTag = 0;

  /**
   * The ids of this replica's server→client requests are made unique among replicas (another replica's
   * SDK Server numbers its own from 0 too) and name this replica, so that the client's answer, wherever it
   * lands, is routed back here. A session-wide message goes out where the session's GET stream is: here,
   * or pushed to the replica holding it — except list_changed, which every replica hears on the event bus.
   */
  private sendShared(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const peers = this.peers as SessionPeers;
    let out = message;
    if ("method" in message && "id" in message) {
      const wire = `~${peers.replicaId}~${this.nextTag++}`;
      this.tagged.set(wire, message.id);
      out = { ...message, id: wire };
    }
    const method = "method" in out ? out.method : undefined;
    if (
      method === undefined ||
      options?.relatedRequestId !== undefined ||
      this.getStreams > 0 ||
      !this.sessionId
    )
      return this.inner.send(out, options);
    if (!LIST_CHANGED.has(method)) peers.push(this.sessionId, out);
    return Promise.resolve();
  }

  /** A message of the client: another replica's request's answer goes there; a cancellation goes to all. */
  private fromClient(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const peers = this.peers as SessionPeers;
    const session = this.sessionId;
    if (!("method" in message) && typeof message.id === "string" && message.id.startsWith("~")) {
      const end = message.id.indexOf("~", 1);
      const replica = message.id.slice(1, end);
      if (end > 0 && replica !== peers.replicaId && session !== undefined)
        return peers.reply(session, replica, message);
      return this.deliverReply(message, extra);
    }
    if ("method" in message && message.method === "notifications/cancelled" && session !== undefined)
      peers.cancelled(session, message);
    this.onmessage?.(message, extra);
  }

  private deliverReply(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const wire = (message as { id: string }).id;
    const id = this.tagged.get(wire);
    if (id === undefined) return; // answered already, or never ours: dropped as the SDK drops strays
    this.tagged.delete(wire);
    this.onmessage?.({ ...message, id } as JSONRPCMessage, extra);
  }

  /** Another replica's message for this session (src/front/sharing.ts). */
  deliver(kind: "reply" | "cancelled" | "push", message: JSONRPCMessage): void {
    if (this.closed) return;
    if (kind === "reply") this.deliverReply(message);
    else if (kind === "cancelled") this.onmessage?.(message);
    else if (this.getStreams > 0) this.inner.send(message).catch((e: unknown) => this.onerror?.(e as Error));
  }

  /**
   * Rebuilds this session on a replica that has not seen it (cluster mode): the client's initialize and
   * initialized, replayed through the SDK's own transport and Server on an in-memory request whose answer
   * is discarded, so the SDK holds the session id, the negotiated version and the client's capabilities
   * exactly as on the replica that answered the real initialize. Needs `sessionIdGenerator` to give `id`.
   */
  async replay(id: string, initialize: Readonly<Record<string, unknown>>): Promise<void> {
    await this.postInMemory(
      {},
      { jsonrpc: "2.0", id: "replay-initialize", method: "initialize", params: initialize },
    );
    if (this.inner.sessionId !== id) throw new Error("the replayed initialize did not restore the session");
    await this.initialized();
  }

  /**
   * Cluster mode: the client's notifications/initialized, replayed here. Behind a balancer it may land on
   * another replica than its initialize; this replica's session is initialized all the same (a second one
   * arriving later changes nothing). No protocol version header: the SDK takes the negotiated one.
   */
  async initialized(): Promise<void> {
    const id = this.inner.sessionId;
    if (id !== undefined)
      await this.postInMemory(
        { "mcp-session-id": id },
        { jsonrpc: "2.0", method: "notifications/initialized" },
      );
  }

  private async postInMemory(headers: Record<string, string>, body: JSONRPCMessage): Promise<void> {
    const [req, res] = inMemoryPost(headers);
    const finished = new Promise((resolve) => res.once("finish", resolve));
    await this.node(req, res, body);
    await finished;
  }

  /** One HTTP request of this session, after the front's checks (body already read and screened). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (req.method === "POST") {
      this.watchPost(req, res, body);
      // A POST that may be answered as JSON is sent in one write that way; the others are held.
      const jsonId = this.json.eligible(body);
      if (jsonId !== undefined) this.jsonPosts.set(res, jsonId);
      else holdAnswer(res, this.held);
    } else if (req.method === "GET") {
      if (typeof req.headers["last-event-id"] === "string") this.lastResume = Date.now();
      this.getStreams++;
      res.once("close", () => this.getStreams--);
    }
    return this.node(req, res, body);
  }

  private watchPost(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const ids: RequestId[] = [];
    for (const m of Array.isArray(body) ? (body as unknown[]) : [body]) {
      const id = postedRequestId(m);
      if (id !== undefined) ids.push(id);
    }
    if (ids.length === 0) return;
    for (const id of ids) this.pending.add(id);
    const version = req.headers["mcp-protocol-version"];
    const resumable = typeof version === "string" && version >= "2025-11-25";
    res.once("close", () => {
      const open = ids.filter((id) => this.pending.has(id));
      if (open.length === 0 || this.closed) return;
      // Nothing to resume from: no priming event (protocol before 2025-11-25), or nothing sent yet (a POST
      // still waiting to be answered as JSON, front/jsonAnswer.ts).
      if (!resumable || open.every((id) => this.json.undecided(id)))
        return this.cancel(open, CLOSED_BEFORE_ANSWER);
      const closedAt = Date.now();
      for (const id of open) this.dropped.set(id, closedAt);
      setTimeout(() => this.cancelDropped(), this.resumeGraceMs).unref();
    });
  }

  /**
   * Requests whose resumable stream closed, by when: a grace timer that fires cancels every one of them
   * whose grace is (nearly) over, together, so that the running calls' freed slots do not start queued
   * calls of the same burst of drops whose own timers are a few milliseconds later.
   */
  private readonly dropped = new Map<RequestId, number>();

  private cancelDropped(): void {
    const due = Date.now() - this.resumeGraceMs + DROP_BATCH_MS;
    const ids: RequestId[] = [];
    for (const [id, closedAt] of this.dropped) {
      if (closedAt > due) continue;
      this.dropped.delete(id);
      // A client of this session came back with Last-Event-ID after the drop: its stream may live on.
      if (this.lastResume < closedAt && this.pending.has(id)) ids.push(id);
    }
    if (ids.length > 0)
      this.cancel(
        ids,
        `the client closed the request's event stream and did not resume it within ${this.resumeGraceMs} ms`,
      );
  }

  /** Requests to cancel at the end of this turn, with their reasons (see cancel). */
  private readonly cancelling = new Map<RequestId, string>();
  private cancelScheduled = false;

  /**
   * Cancels requests as if the client had sent notifications/cancelled. The cancellations of one turn
   * (the grace timers of many dropped POSTs fire together) are sent in one synchronous loop, queued calls
   * first: a running call's freed slot must not start a queued call that is being cancelled too.
   */
  private cancel(ids: readonly RequestId[], reason: string): void {
    for (const id of ids) if (this.pending.delete(id)) this.cancelling.set(id, reason);
    if (this.cancelling.size === 0 || this.cancelScheduled) return;
    this.cancelScheduled = true;
    setImmediate(() => {
      this.cancelScheduled = false;
      const all = [...this.cancelling].reverse();
      this.cancelling.clear();
      if (this.closed) return;
      for (const [requestId, why] of all)
        this.onmessage?.({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId, reason: why },
        });
    });
  }
}

const LIST_CHANGED = new Set([
  "notifications/tools/list_changed",
  "notifications/resources/list_changed",
  "notifications/prompts/list_changed",
]);

/** A POST that never touches a socket: its answer is written into a sink and dropped (see replay). */
function inMemoryPost(headers: Record<string, string>): [IncomingMessage, ServerResponse] {
  const req = new IncomingMessage(new Socket());
  req.method = "POST";
  req.url = "/";
  req.headers = {
    host: "localhost",
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    ...headers,
  };
  req.rawHeaders = Object.entries(req.headers).flat() as string[];
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as Socket);
  return [req, res];
}

/** Corks the answer's socket for ANSWER_HOLD_MS (end() sends everything at once when it comes first). */
function holdAnswer(res: ServerResponse, held: Set<() => void>): void {
  res.cork();
  const release = (): void => {
    clearTimeout(timer);
    if (held.delete(release) && !res.writableEnded) res.uncork();
  };
  const timer = setTimeout(release, ANSWER_HOLD_MS);
  timer.unref();
  held.add(release);
  res.once("close", release);
}
