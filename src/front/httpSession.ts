import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import type {
  JSONRPCMessage,
  MessageExtraInfo,
  RequestId,
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/server";

/**
 * How long a POST's answer is held in the socket (corked) before what the SDK wrote so far is sent. The
 * SDK answers every POST as an event stream: headers first, then each event, then the end, each a write
 * of its own, and each write wakes the client. A call that ends within the hold goes out in one write
 * (end() uncorks); a longer one has its headers, priming event and progress sent once the hold is over,
 * and every later event at once.
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
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private closed = false;
  /** Requests of POSTs not answered yet (see watchPost). */
  private readonly pending = new Set<RequestId>();
  /** When a client last came back with Last-Event-ID (keeps the calls of a dropped stream alive). */
  private lastResume = 0;

  constructor(
    private readonly inner: NodeStreamableHTTPServerTransport,
    private readonly resumeGraceMs: number,
  ) {
    inner.onmessage = (message, extra) => this.onmessage?.(message, extra);
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

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.pending.size > 0 && ("result" in message || "error" in message))
      this.pending.delete(message.id as RequestId);
    return this.inner.send(message, options);
  }

  /** One HTTP request of this session, after the front's checks (body already read and screened). */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (req.method === "POST") {
      this.watchPost(req, res, body);
      holdAnswer(res);
    } else if (req.method === "GET" && typeof req.headers["last-event-id"] === "string")
      this.lastResume = Date.now();
    return this.inner.handleRequest(req, res, body);
  }

  private watchPost(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const ids: RequestId[] = [];
    for (const m of Array.isArray(body) ? (body as unknown[]) : [body]) {
      if (!isObject(m) || typeof m["method"] !== "string" || m["method"] === "initialize") continue;
      const id = m["id"];
      if (typeof id === "string" || Number.isSafeInteger(id)) ids.push(id as RequestId);
    }
    if (ids.length === 0) return;
    for (const id of ids) this.pending.add(id);
    const version = req.headers["mcp-protocol-version"];
    const resumable = typeof version === "string" && version >= "2025-11-25";
    res.once("close", () => {
      const open = ids.filter((id) => this.pending.has(id));
      if (open.length === 0 || this.closed) return;
      if (!resumable) return this.cancel(open, CLOSED_BEFORE_ANSWER);
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Corks the answer's socket for ANSWER_HOLD_MS (end() sends everything at once when it comes first). */
function holdAnswer(res: ServerResponse): void {
  res.cork();
  const release = setTimeout(() => {
    if (!res.writableEnded) res.uncork();
  }, ANSWER_HOLD_MS);
  release.unref();
  res.once("close", () => clearTimeout(release));
}
