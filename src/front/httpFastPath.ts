import type { IncomingMessage, ServerResponse } from "node:http";
import type {
  EventStore,
  StreamableHTTPServerTransport,
} from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  ErrorCode,
  McpError,
  RELATED_TASK_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientCapabilities,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { LooseResult } from "../downstream/listing.js";
import { readToolCallParams } from "../jsonrpc/toolCallParams.js";
import type { FrontBackend } from "./backend.js";
import { jsonError } from "./httpErrors.js";
import { CallStream, streamHost, type StreamHost } from "./httpCallStream.js";
import { answerToolCall, callOrigin } from "./origin.js";
import type { FrontSession } from "./session.js";

/** The SDK's keep-alive period for SSE streams (DEFAULT_SSE_KEEP_ALIVE_MS). */
const KEEP_ALIVE_MS = 15_000;

export interface HttpFastPathOptions {
  /** The session's event store (shared with the SDK transport, which replays from it after a call ends). */
  readonly store: EventStore;
  /** `retry:` of the priming event, as given to the SDK transport. */
  readonly retryInterval: number;
  /**
   * A call still running after this long switches its answer to SSE (priming event, keep-alives) as
   * the SDK's answer always is, so a long call keeps the SDK's resumability; 0 never switches on time.
   */
  readonly sseAfterMs?: number;
  readonly keepAliveMs?: number;
  /**
   * A call whose client closed its resumable SSE stream is cancelled when the client has not resumed it
   * within this many ms; a request closed before anything was sent is cancelled at once.
   */
  readonly resumeGraceMs: number;
}

/** Why a call whose answer can no longer be delivered was cancelled (notifications/cancelled reason). */
const CLOSED_BEFORE_ANSWER = "the client closed its HTTP request before the answer";

interface ToolCall {
  readonly id: RequestId;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly meta: Record<string, unknown> | undefined;
}

/**
 * One Streamable HTTP session, as the SDK Server sees it: the SDK's transport for everything, except a
 * POST whose body is one well-formed tools/call on an initialized session. That call skips the web
 * Request/Response conversion and the SSE framing and is answered with `application/json`; if anything
 * must go out before its result (progress, a server→client request routed to it), or it runs longer than
 * `sseAfterMs`, the answer becomes the SSE stream the SDK would have sent (priming event, event ids from
 * the session's event store, keep-alives, resumable with Last-Event-ID). Every request the fast path does
 * not take is the SDK's, with the SDK's checks and answers.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private readonly calls = new Map<
    RequestId,
    { readonly cancel: AbortController; readonly stream: CallStream }
  >();
  private readonly host: StreamHost;
  private closed = false;
  /** Requests of POSTs the SDK transport answers, until their answer goes out (see watchPost). */
  private readonly sdkPending = new Set<RequestId>();
  /** When a client last came back with Last-Event-ID (keeps SDK-path calls of a dropped stream alive). */
  private lastResume = 0;

  constructor(
    private readonly inner: StreamableHTTPServerTransport,
    private readonly session: FrontSession,
    private readonly backend: FrontBackend,
    options: HttpFastPathOptions,
  ) {
    this.host = streamHost({
      sessionId: () => inner.sessionId,
      store: options.store,
      retryInterval: options.retryInterval,
      keepAliveMs: options.keepAliveMs ?? KEEP_ALIVE_MS,
      sseAfterMs: options.sseAfterMs ?? 1_000,
      resumeGraceMs: options.resumeGraceMs,
    });
    inner.onmessage = (message, extra) => {
      if (!this.cancelled(message)) this.onmessage?.(message, extra);
    };
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.shutdown();
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Messages the SDK Server sends for a fast-path call (server→client requests) go on that call's stream. */
  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.sdkPending.size > 0 && ("result" in message || "error" in message))
      this.sdkPending.delete(message.id as RequestId);
    const related = options?.relatedRequestId;
    if (related !== undefined && this.calls.size > 0 && !("result" in message) && !("error" in message)) {
      const call = this.calls.get(related);
      if (call) return call.stream.send(message);
    }
    return this.inner.send(message, options);
  }

  /** Takes a POST of one tools/call that the SDK would accept as is; false leaves it to the SDK. */
  tryCall(req: IncomingMessage, res: ServerResponse, body: unknown): boolean {
    const call = this.closed ? undefined : toolCall(body);
    if (!call || this.calls.has(call.id)) return false;
    const h = req.headers;
    // The SDK's checks, in its order; a request failing any of them gets the SDK's own answer.
    const accept = h.accept;
    if (!accept?.includes("application/json") || !accept.includes("text/event-stream")) return false;
    const type = h["content-type"];
    if (type !== "application/json" && type?.toLowerCase() !== "application/json; charset=utf-8")
      return false;
    if (repeated(req.rawHeaders, "content-type")) return false; // Node keeps the first; the SDK sees both
    const version = h["mcp-protocol-version"];
    if (
      version !== undefined &&
      (typeof version !== "string" || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))
    )
      return false;
    const caps = this.session.clientCapabilities();
    if (!caps) return false;
    const stream = new CallStream(this.host, res, version ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION);
    this.run(call, caps, stream).catch((error: unknown) =>
      this.onerror?.(error instanceof Error ? error : new Error(String(error))),
    );
    return true;
  }

  /**
   * A POST the SDK transport answers: when its response closes before the answers to its requests went
   * out, those requests are cancelled (as if the client had sent notifications/cancelled), at once when
   * the client cannot resume (no priming event: protocol before 2025-11-25), else after resumeGraceMs
   * unless a client of this session came back with Last-Event-ID meanwhile.
   */
  watchPost(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const ids: RequestId[] = [];
    for (const m of Array.isArray(body) ? (body as unknown[]) : [body]) {
      if (!isObject(m) || typeof m["method"] !== "string" || m["method"] === "initialize") continue;
      const id = m["id"];
      if (typeof id === "string" || Number.isSafeInteger(id)) ids.push(id as RequestId);
    }
    if (ids.length === 0) return;
    for (const id of ids) this.sdkPending.add(id);
    const version = req.headers["mcp-protocol-version"];
    const resumable = typeof version === "string" && version >= "2025-11-25";
    res.once("close", () => {
      const open = ids.filter((id) => this.sdkPending.has(id));
      if (open.length === 0 || this.closed) return;
      if (!resumable) return this.cancelSdk(open, CLOSED_BEFORE_ANSWER);
      const closedAt = Date.now();
      setTimeout(() => {
        if (this.lastResume >= closedAt) return;
        this.cancelSdk(
          open.filter((id) => this.sdkPending.has(id)),
          `the client closed the request's event stream and did not resume it within ${this.host.resumeGraceMs} ms`,
        );
      }, this.host.resumeGraceMs).unref();
    });
  }

  private cancelSdk(ids: readonly RequestId[], reason: string): void {
    for (const requestId of ids) {
      if (!this.sdkPending.delete(requestId) || this.closed) continue;
      this.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason } });
    }
  }

  /**
   * A GET with Last-Event-ID for the SSE stream of a fast-path call that is still running: replay what
   * the client missed and carry on there (the SDK replays the streams of finished calls from the store).
   */
  async tryResume(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const last = req.headers["last-event-id"];
    if (typeof last === "string") this.lastResume = Date.now();
    if (typeof last !== "string" || this.host.resumable.size === 0) return false;
    if (!req.headers.accept?.includes("text/event-stream")) return false;
    const version = req.headers["mcp-protocol-version"];
    if (
      version !== undefined &&
      (typeof version !== "string" || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))
    )
      return false;
    const streamId = await this.host.store.getStreamIdForEventId?.(last);
    const stream = streamId === undefined ? undefined : this.host.resumable.get(streamId);
    if (!stream) return false;
    if (stream.connected) {
      jsonError(res, 409, -32000, "Conflict: Stream already has an active connection");
      return true;
    }
    stream.resume(res, last);
    return true;
  }

  private async run(call: ToolCall, caps: ClientCapabilities, stream: CallStream): Promise<void> {
    const { id } = call;
    const cancel = new AbortController();
    stream.onAbandoned = (reason) => cancel.abort(reason);
    const entry = { cancel, stream };
    this.calls.set(id, entry);
    try {
      const origin = callOrigin({
        sessionId: this.session.id,
        principal: this.session.principal,
        signal: cancel.signal,
        clientCapabilities: caps,
        rawMeta: call.meta,
        notify: (n) =>
          cancel.signal.aborted ? Promise.resolve() : stream.send({ jsonrpc: "2.0", ...n } as JSONRPCMessage),
        // As the SDK's extra.sendRequest: the request goes out on this call's stream (see send()).
        requestClient: (request, signal) =>
          cancel.signal.aborted
            ? Promise.reject(new McpError(ErrorCode.ConnectionClosed, "Request was cancelled"))
            : (this.session.server.request(request as never, LooseResult, {
                signal,
                relatedRequestId: id,
              }) as Promise<Record<string, unknown>>),
      });
      const reply = await answerToolCall(this.backend, id, call.name, call.args, origin);
      // Progress goes out before the result (no progressToken: none to wait for, and no extra await);
      // a cancelled request gets no answer (as with the SDK).
      if (origin.progressToken !== undefined) await origin.flush();
      if (cancel.signal.aborted) stream.abandon();
      else stream.finish(reply);
    } finally {
      if (this.calls.get(id) === entry) this.calls.delete(id);
    }
  }

  /** notifications/cancelled for a fast-path call aborts it (the SDK answered the POST with 202). */
  private cancelled(message: JSONRPCMessage): boolean {
    if (this.calls.size === 0 || !("method" in message) || message.method !== "notifications/cancelled")
      return false;
    const params = message.params as { requestId?: RequestId; reason?: unknown } | undefined;
    const call = params?.requestId === undefined ? undefined : this.calls.get(params.requestId);
    if (!call) return false;
    call.cancel.abort(params?.reason ?? "cancelled by the client");
    return true;
  }

  /** The SDK transport closed (DELETE, idle expiry, shutdown): abort the calls, end their streams. */
  private shutdown(): void {
    this.closed = true;
    for (const { cancel, stream } of this.calls.values()) {
      cancel.abort();
      stream.close();
    }
    this.calls.clear();
    this.sdkPending.clear();
    for (const stream of [...this.host.open]) stream.close();
    this.host.resumable.clear();
  }
}

/** True when the (lower-case) header occurs more than once. */
function repeated(raw: readonly string[], name: string): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i];
    if (key?.length === name.length && key.toLowerCase() === name) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One JSON-RPC tools/call request exactly as the SDK's schemas and our handler accept it, else undefined. */
function toolCall(body: unknown): ToolCall | undefined {
  if (!isObject(body) || body["method"] !== "tools/call" || body["jsonrpc"] !== "2.0") return undefined;
  const id = body["id"];
  if (typeof id !== "string" && !Number.isSafeInteger(id)) return undefined;
  for (const key in body)
    if (key !== "jsonrpc" && key !== "id" && key !== "method" && key !== "params") return;
  const params = body["params"];
  if (isObject(params) && "task" in params) return undefined;
  // Malformed params go on to the front's screen, which answers -32602 as on every front.
  const call = readToolCallParams(params);
  if ("refused" in call) return undefined;
  if (call.meta !== undefined && RELATED_TASK_META_KEY in call.meta) return undefined;
  return { id: id as RequestId, name: call.name, args: call.args, meta: call.meta };
}
