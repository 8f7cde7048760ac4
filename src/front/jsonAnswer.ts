import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { JSONRPCMessage, RequestId, TransportSendOptions } from "@modelcontextprotocol/server";
import { isEventStream } from "./nodeMount.js";
import { isObject } from "../jsonrpc/isObject.js";

/** The id of a posted request the session answers (string or integer; not initialize), else undefined. */
export function postedRequestId(message: unknown): RequestId | undefined {
  if (!isObject(message) || typeof message["method"] !== "string" || message["method"] === "initialize")
    return undefined;
  const id = message["id"];
  return typeof id === "string" || Number.isSafeInteger(id) ? (id as RequestId) : undefined;
}

/**
 * How long a 2025-era POST's answer may be waited for to send it as one JSON body. A call still running
 * then is answered by the SDK's event stream, whose priming event lets the client resume it if the
 * connection drops; a quicker call's client could not resume, but it had its answer within this time.
 */
export const JSON_ANSWER_WINDOW_MS = 100;

/** A request whose POST may still be answered as JSON. */
interface Watch {
  answer: JSONRPCMessage | undefined;
  /** Something else for this request (a log, a request to the client) must be streamed. */
  streams: boolean;
  /** Wakes the POST's `answer` once one of the two above is known. */
  wake: (() => void) | undefined;
}

/**
 * "JSON unless something must stream" for 2025-era POSTs (docs/adr/0019). The SDK's session transport
 * answers every POST with an event stream (its JSON mode drops a call's progress and requests to the
 * client instead). A Streamable HTTP client must accept either, and a fresh event stream per call is
 * most of what a call costs such a client: the bench's client spends about 0.8 ms of CPU per call on a
 * streamed answer and 0.5 ms on a JSON one (docs/PERFORMANCE.md). So a POST of one request without a
 * progress token waits, behind the SDK's Response, for the first message the server sends for that
 * request (`note` sees every message before the SDK's transport does): the answer → the SDK's stream is
 * cancelled before the SDK writes the answer into it (the SDK then forgets the request's stream) and the
 * answer goes out as `application/json`; anything else, or JSON_ANSWER_WINDOW_MS without an answer → the
 * SDK's stream as it is, every event in it.
 */
export class JsonAnswers {
  private readonly watched = new Map<RequestId, Watch>();

  constructor(private readonly windowMs = JSON_ANSWER_WINDOW_MS) {}

  /** The id of a POST body that may be answered as JSON: one request (not initialize), no progress token. */
  eligible(body: unknown): RequestId | undefined {
    const id = postedRequestId(body); // a batch is an array: never
    if (id === undefined || this.watched.has(id)) return undefined; // an id reused while in flight: streamed
    const params = (body as Record<string, unknown>)["params"];
    const meta = isObject(params) ? params["_meta"] : undefined;
    if (isObject(meta) && meta["progressToken"] !== undefined) return undefined;
    return id;
  }

  /**
   * Whether the POST of request `id` is still waiting to know how it is answered: nothing has been sent
   * on it yet, so a client that drops it has nothing to resume from.
   */
  undecided(id: RequestId): boolean {
    const watch = this.watched.get(id);
    return watch !== undefined && watch.answer === undefined && !watch.streams;
  }

  /** Every message to the client, before the SDK's transport has it. */
  note(message: JSONRPCMessage, options?: TransportSendOptions): void {
    if (this.watched.size === 0) return;
    let watch: Watch | undefined;
    if ("result" in message || "error" in message) {
      watch = this.watched.get(message.id as RequestId);
      if (watch && !watch.streams) watch.answer = message;
    } else if (options?.relatedRequestId !== undefined) {
      watch = this.watched.get(options.relatedRequestId);
      if (watch) watch.streams = true;
    }
    watch?.wake?.();
  }

  /**
   * The answer to the POST of request `id`: written to `res` as JSON when it can be (then the listener is
   * told it was sent), else the SDK's response as it is.
   */
  async answer(id: RequestId, respond: () => Promise<Response>, res: ServerResponse): Promise<Response> {
    const watch: Watch = { answer: undefined, streams: false, wake: undefined };
    this.watched.set(id, watch);
    try {
      const response = await respond();
      const body = response.body;
      if (response.status !== 200 || body === null || !isEventStream(response)) return response;
      if (watch.answer === undefined && !watch.streams) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.windowMs);
          watch.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (watch.answer === undefined || watch.streams || res.headersSent) return response;
      // Cancelled before the SDK writes the answer into it: the SDK then forgets the request's stream.
      void body.cancel();
      const headers: Record<string, string> = { "content-type": "application/json" };
      const session = response.headers.get("mcp-session-id");
      if (session !== null) headers["mcp-session-id"] = session;
      const json = JSON.stringify(watch.answer);
      headers["content-length"] = String(Buffer.byteLength(json));
      res.writeHead(200, headers).end(json);
      return RESPONSE_ALREADY_SENT;
    } finally {
      if (this.watched.get(id) === watch) this.watched.delete(id);
    }
  }
}
