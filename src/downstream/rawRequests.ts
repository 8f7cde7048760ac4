import { ErrorCode, McpError, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { invalidResult, toolResultProblem } from "../jsonrpc/rejected.js";
import { rejectedError } from "../jsonrpc/rejectedError.js";
import { Deadlines } from "../pipeline/deadlines.js";
import { onAbort } from "../pipeline/signals.js";
import { ProcessGroupStdioTransport } from "./stdio.js";
import type { ForwardOptions } from "./types.js";

interface Pending {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: unknown) => void;
  readonly onprogress: ForwardOptions["onprogress"];
  readonly timeoutMs: number;
  readonly maxTotalTimeoutMs: number | undefined;
  readonly startedAt: number;
  cleanup: () => void;
}

/**
 * tools/call on a stdio downstream without the SDK Client's per-request machinery: our own id space
 * ("amcp-<n>", which never collides with the SDK's numeric ids on the same pipe), responses and
 * progress routed straight from the transport's line reader, and the same semantics as the SDK's
 * request(): a per-attempt timeout restarted by progress, a total cap, notifications/cancelled on abort
 * or timeout, and McpErrors with the SDK's codes so failures are classified exactly as before. Only
 * tools/call goes this way: each result gets the cheap tools/call shape check (toolResultProblem), and
 * a malformed one fails its request alone (INVALID_RESULT after classify.ts).
 */
export class RawRequests {
  private seq = 0;
  private readonly pending = new Map<string, Pending>();

  /** `post` queues a message for the pipe and throws when the link is down (it never waits for the write). */
  constructor(private readonly post: (message: JSONRPCMessage) => void) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Called by the transport for every incoming message: true when it was one of ours. */
  readonly route = (message: JSONRPCMessage): boolean => {
    if ("method" in message) {
      if (message.method !== "notifications/progress") return false;
      // Anything malformed (no params, odd fields) is not ours: the SDK Client drops it with a log.
      const params = message.params as Record<string, unknown> | undefined;
      const token = typeof params === "object" && params !== null ? params["progressToken"] : undefined;
      const p = typeof token === "string" ? this.pending.get(token) : undefined;
      if (!p || !params) return false;
      const { progress, total, message: text } = params;
      if (typeof progress !== "number") return true; // ours, but unusable: dropped
      this.arm(token as string, p);
      p.onprogress?.({
        progress,
        ...(typeof total === "number" ? { total } : {}),
        ...(typeof text === "string" ? { message: text } : {}),
      });
      return true;
    }
    const id = (message as { id?: unknown }).id;
    const p = typeof id === "string" ? this.pending.get(id) : undefined;
    if (!p) return false;
    this.settle(id as string, p);
    if ("error" in message) {
      const e = message.error as { code?: unknown; message?: unknown; data?: unknown } | null;
      const code = typeof e?.code === "number" ? e.code : ErrorCode.InternalError;
      const text = typeof e?.message === "string" ? e.message : "the server answered with a malformed error";
      p.reject(new McpError(code, text, e?.data));
      return true;
    }
    const result = (message as { result?: unknown }).result;
    const problem = toolResultProblem(result);
    if (problem === undefined) p.resolve(result as Record<string, unknown>);
    else p.reject(rejectedError(invalidResult(problem)));
    return true;
  };

  request(
    method: string,
    params: Record<string, unknown>,
    options: ForwardOptions,
  ): Promise<Record<string, unknown>> {
    const { signal } = options;
    if (signal.aborted) return Promise.reject(new McpError(ErrorCode.RequestTimeout, String(signal.reason)));
    const id = `amcp-${++this.seq}`;
    // Our progress token joins the caller's _meta (copied, never mutated); no copy when there is none.
    const callerMeta = params["_meta"] as Record<string, unknown> | undefined;
    const message = {
      jsonrpc: "2.0",
      id,
      method,
      params: { ...params, _meta: callerMeta ? { ...callerMeta, progressToken: id } : { progressToken: id } },
    } as JSONRPCMessage;
    try {
      this.post(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        onprogress: options.onprogress,
        timeoutMs: options.timeoutMs,
        maxTotalTimeoutMs: options.maxTotalTimeoutMs,
        startedAt: Date.now(),
        cleanup: noop,
      };
      p.cleanup = onAbort(signal, () =>
        this.cancel(id, new McpError(ErrorCode.RequestTimeout, String(signal.reason)), String(signal.reason)),
      );
      this.pending.set(id, p);
      this.arm(id, p);
    });
  }

  /** The link is gone: every pending request fails like the SDK's ("Connection closed"). */
  failAll(): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id, p);
      p.reject(new McpError(ErrorCode.ConnectionClosed, "Connection closed"));
    }
    // The link is gone: its timer need not wait for a deadline nobody has any more.
    this.timeouts.clear();
  }

  /** Attempt timeouts of every pending request on one timer (src/pipeline/deadlines.ts). */
  private readonly timeouts = new Deadlines<string>((id) => {
    const p = this.pending.get(id);
    if (p)
      this.cancel(
        id,
        new McpError(ErrorCode.RequestTimeout, "Request timed out", { timeout: p.timeoutMs }),
        "Request timed out",
      );
  });

  /** (Re)starts the request's attempt timeout, unless its total cap is already spent. */
  private arm(id: string, p: Pending): void {
    const elapsed = Date.now() - p.startedAt;
    if (p.maxTotalTimeoutMs !== undefined && elapsed >= p.maxTotalTimeoutMs) {
      this.cancel(
        id,
        new McpError(ErrorCode.RequestTimeout, "Maximum total timeout exceeded", {
          maxTotalTimeout: p.maxTotalTimeoutMs,
          totalElapsed: elapsed,
        }),
        "Maximum total timeout exceeded",
      );
      return;
    }
    this.timeouts.set(id, p.timeoutMs);
  }

  private cancel(id: string, error: McpError, reason: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.settle(id, p);
    try {
      this.post({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason },
      } as JSONRPCMessage);
    } catch {
      // The link is down: the server is not running the request any more either.
    }
    p.reject(error);
  }

  private settle(id: string, p: Pending): void {
    this.pending.delete(id);
    this.timeouts.delete(id);
    p.cleanup();
  }
}

function noop(): void {
  // replaced by the remover of the abort watch
}

/** For a stdio downstream: raw tools/call requests routed by its line reader; undefined otherwise. */
export function attachRawRequests(transport: Transport): RawRequests | undefined {
  if (!(transport instanceof ProcessGroupStdioTransport)) return undefined;
  const raw = new RawRequests((m) => transport.post(m));
  transport.rawRoute = raw.route;
  transport.onRawClose = () => raw.failAll();
  // More requests than this batch already at the server: it is busy, a turn's wait costs it nothing.
  transport.worthWaiting = (batchSize) => raw.inFlight > batchSize;
  return raw;
}
