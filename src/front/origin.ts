import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { CallCancel } from "../pipeline/cancel.js";
import type { CallOrigin, ClientRequester } from "./backend.js";

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
  /** The call's cancellation: an AbortSignal (SDK handlers) or our CallCancel (fast paths). */
  readonly signal: AbortSignal | CallCancel;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly rawMeta: unknown;
  readonly notify: Notify;
  readonly requestClient: ClientRequester;
}): CallOrigin & { flush(): Promise<void> } {
  const { progressToken, rest } = splitMeta(init.rawMeta);
  let pending: Promise<void> | undefined;
  const cancel = init.signal instanceof CallCancel ? init.signal : undefined;
  const signal = cancel ? undefined : (init.signal as AbortSignal);
  return {
    sessionId: init.sessionId,
    // A real AbortSignal only when someone outside the pipeline asks for one (relay, workflows).
    get signal() {
      return signal ?? (cancel as CallCancel).signal;
    },
    cancel,
    clientCapabilities: init.clientCapabilities,
    progressToken,
    meta: Object.keys(rest).length > 0 ? rest : undefined,
    sendProgress:
      progressToken === undefined
        ? undefined
        : (progress, total, message) => {
            const params = {
              progressToken,
              progress,
              ...(total === undefined ? {} : { total }),
              ...(message ? { message } : {}),
            };
            pending = (pending ?? Promise.resolve()).then(() =>
              init.notify({ method: "notifications/progress", params }).catch(() => undefined),
            );
          },
    requestClient: init.requestClient,
    flush: async () => {
      if (!pending) return;
      await pending;
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/** `_meta` → its progressToken and the rest (undefined when empty); no object rest on the common path. */
function splitMeta(raw: unknown): {
  progressToken: string | number | undefined;
  rest: Record<string, unknown>;
} {
  if (raw === undefined || raw === null || typeof raw !== "object")
    return { progressToken: undefined, rest: {} };
  const { progressToken, ...rest } = raw as { progressToken?: string | number };
  return { progressToken, rest };
}
