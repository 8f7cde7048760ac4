import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
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
  readonly signal: AbortSignal;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly rawMeta: unknown;
  readonly notify: Notify;
  readonly requestClient: ClientRequester;
}): CallOrigin & { flush(): Promise<void> } {
  const { progressToken, ...rest } = (init.rawMeta ?? {}) as { progressToken?: string | number };
  let pending: Promise<void> | undefined;
  return {
    sessionId: init.sessionId,
    signal: init.signal,
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
