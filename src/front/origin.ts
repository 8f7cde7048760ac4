import type { ClientCapabilities, JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { CallOrigin, ClientRequester, FrontBackend } from "./backend.js";
import { requestErrorToMcp } from "./errorMap.js";

/** The JSON-RPC answer to one tools/call of a fast path: its result, or its failure mapped as the SDK would. */
export async function answerToolCall(
  backend: FrontBackend,
  id: RequestId,
  name: string,
  args: Record<string, unknown>,
  origin: CallOrigin,
): Promise<JSONRPCMessage> {
  try {
    return resultReply(id, await backend.callTool(name, args, origin));
  } catch (error) {
    return errorReply(id, error);
  }
}

/** The JSON-RPC answer carrying a tools/call result. */
export function resultReply(id: RequestId, result: unknown): JSONRPCMessage {
  return { jsonrpc: "2.0", id, result } as JSONRPCMessage;
}

/** The JSON-RPC error answer for a failed request (the SDK's mapping of our errors). */
export function errorReply(id: RequestId, error: unknown): JSONRPCMessage {
  const e = requestErrorToMcp(error);
  return {
    jsonrpc: "2.0",
    id,
    error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) },
  } as JSONRPCMessage;
}

type Notify = (notification: {
  method: "notifications/progress";
  params: Record<string, unknown>;
}) => Promise<void>;

/**
 * The CallOrigin of one tools/call from a front client, shared by the SDK handler and the stdio fast
 * path. Progress notifications go out in order and before the call's result: `flush()` waits for them
 * and then one macrotask more, because SDK clients dispatch notifications a microtask late and would
 * drop a progress line read in the same chunk as its result.
 */
export function callOrigin(init: {
  readonly sessionId: string;
  readonly principal?: string | undefined;
  /** The call's cancellation. */
  readonly signal: AbortSignal;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly rawMeta: unknown;
  readonly notify: Notify;
  readonly requestClient: ClientRequester;
}): CallOrigin & { flush(): Promise<void> } {
  return new FrontCallOrigin(
    init.sessionId,
    init.principal,
    init.signal,
    init.clientCapabilities,
    init.rawMeta,
    init.notify,
    init.requestClient,
  );
}

/** A class, not an object literal with a getter: one per call on the hot path (hidden class, no closures). */
class FrontCallOrigin implements CallOrigin {
  readonly progressToken: string | number | undefined;
  readonly meta: Record<string, unknown> | undefined;
  readonly sendProgress: CallOrigin["sendProgress"];
  private pending: Promise<void> | undefined;

  constructor(
    readonly sessionId: string,
    readonly principal: string | undefined,
    readonly signal: AbortSignal,
    readonly clientCapabilities: ClientCapabilities | undefined,
    rawMeta: unknown,
    private readonly notify: Notify,
    readonly requestClient: ClientRequester,
  ) {
    const { progressToken, rest } = splitMeta(rawMeta);
    this.progressToken = progressToken;
    this.meta = rest;
    // The progress relay (a closure) only for calls that asked for progress.
    this.sendProgress =
      progressToken === undefined
        ? undefined
        : (progress, total, message) => this.progress(progress, total, message);
  }

  private progress(progress: number, total?: number, message?: string): void {
    const params = {
      progressToken: this.progressToken,
      progress,
      ...(total === undefined ? {} : { total }),
      ...(message ? { message } : {}),
    };
    this.pending = (this.pending ?? Promise.resolve()).then(() =>
      this.notify({ method: "notifications/progress", params }).catch(() => undefined),
    );
  }

  /** Resolves once the progress sent so far is out (at once when there was none: no progressToken). */
  flush(): Promise<void> {
    const pending = this.pending;
    if (!pending) return DONE;
    return pending.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  }
}

const DONE = Promise.resolve();
const NO_META = { progressToken: undefined, rest: undefined };

/** `_meta` → its progressToken and the rest (undefined when empty); no object rest on the common path. */
function splitMeta(raw: unknown): {
  progressToken: string | number | undefined;
  rest: Record<string, unknown> | undefined;
} {
  if (raw === undefined || raw === null || typeof raw !== "object") return NO_META;
  const { progressToken, ...rest } = raw as { progressToken?: string | number };
  return { progressToken, rest: Object.keys(rest).length > 0 ? rest : undefined };
}
