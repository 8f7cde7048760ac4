import type { CallToolResult, JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { LooseResult } from "../downstream/listing.js";
import { readToolCallParams } from "../jsonrpc/toolCallParams.js";
import type { CallOrigin, FrontBackend } from "./backend.js";
import { callOrigin, errorReply, resultReply } from "./origin.js";
import type { FrontSession } from "./session.js";

type Send = (message: JSONRPCMessage) => Promise<void>;

/**
 * tools/call on the stdio front without the SDK Server's per-request machinery (request objects, task
 * plumbing, promise chains): the call still goes through the router and the whole pipeline; progress,
 * cancellation and server→client requests behave as through the SDK. Everything else (initialize,
 * lists, resources, responses to our own requests) goes to the SDK Server as before.
 */
export class FastToolCalls {
  private readonly inflight = new Map<string | number, AbortController>();

  constructor(
    private readonly session: FrontSession,
    private readonly backend: FrontBackend,
    private readonly send: Send,
  ) {}

  // Made once per session, not per call: they depend on nothing but the session.
  private readonly notify = (n: { method: string; params: Record<string, unknown> }): Promise<void> =>
    this.send({ jsonrpc: "2.0", ...n } as JSONRPCMessage);
  private readonly requestClient = (
    request: unknown,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> =>
    this.session.server.request(request as never, LooseResult, { signal }) as Promise<
      Record<string, unknown>
    >;

  get inFlight(): number {
    return this.inflight.size;
  }

  /** True when the message was handled here. */
  readonly handle = (message: JSONRPCMessage): boolean => {
    if (!("method" in message)) return false;
    if (message.method === "notifications/cancelled") {
      const params = message.params as { requestId?: string | number; reason?: string } | undefined;
      const controller = params?.requestId === undefined ? undefined : this.inflight.get(params.requestId);
      if (!controller) return false;
      controller.abort(params?.reason ?? "cancelled by the client");
      return true;
    }
    if (message.method !== "tools/call" || !("id" in message)) return false;
    const caps = this.session.clientCapabilities();
    // Not initialized yet, or a task: the SDK's own answer. Malformed params (src/jsonrpc/toolCallParams.ts)
    // go on to the transport's screen, which answers them -32602 as on every other front.
    if (!caps) return false;
    const params: unknown = message.params;
    if (typeof params === "object" && params !== null && "task" in params) return false;
    const call = readToolCallParams(params);
    if ("refused" in call) return false;
    void this.call(message.id, call.name, call.args, call.meta, caps);
    return true;
  };

  // Not async: the answer is sent from one `.then` on the backend's promise (the stdio hot path).
  private call(
    id: string | number,
    name: string,
    args: Record<string, unknown>,
    rawMeta: unknown,
    caps: NonNullable<CallOrigin["clientCapabilities"]>,
  ): void {
    const cancel = new AbortController();
    this.inflight.set(id, cancel);
    const origin = callOrigin({
      sessionId: this.session.id,
      signal: cancel.signal,
      clientCapabilities: caps,
      rawMeta,
      notify: this.notify,
      requestClient: this.requestClient,
    });
    let called: Promise<CallToolResult>;
    try {
      called = this.backend.callTool(name, args, origin);
    } catch (error) {
      called = Promise.reject(error);
    }
    called.then(
      (result) => this.answer(id, cancel, origin, resultReply(id, result)),
      (error: unknown) => this.answer(id, cancel, origin, errorReply(id, error)),
    );
  }

  private answer(
    id: string | number,
    cancel: AbortController,
    origin: CallOrigin & { flush(): Promise<void> },
    reply: JSONRPCMessage,
  ): void {
    // A client may reuse the id of a call still in flight: the entry may be a later call's by now.
    if (this.inflight.get(id) === cancel) this.inflight.delete(id);
    // A cancelled request gets no answer (as with the SDK); progress goes out before the result.
    if (cancel.signal.aborted) return;
    // Nobody waits for the answer to reach the pipe (a failed stdout ends the session anyway).
    // No progressToken, no progress to wait for (and no extra await on the hot path).
    if (origin.progressToken === undefined) void this.send(reply);
    else void origin.flush().then(() => this.send(reply));
  }
}
