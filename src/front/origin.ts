import type { ClientCapabilities } from "@modelcontextprotocol/server";
import type { CallSpan } from "../telemetry/span.js";
import type { CallOrigin, ClientRequester } from "./backend.js";

type Notify = (notification: {
  method: "notifications/progress";
  params: Record<string, unknown>;
}) => Promise<void>;

/**
 * The CallOrigin of one request from a front client (front/session.ts builds one per tools/call,
 * resources/read, prompts/get, completion/complete). Progress notifications go out in order and before
 * the call's result: `flush()` waits for them and then a few milliseconds more, because SDK clients dispatch
 * notifications a microtask late and would drop a progress line read in the same chunk as its result.
 */
export function callOrigin(init: {
  readonly sessionId: string;
  readonly principal?: string | undefined;
  /** The request's AbortSignal (the SDK's one per inbound request). */
  readonly signal: AbortSignal;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly rawMeta: unknown;
  readonly notify: Notify;
  readonly requestClient: ClientRequester;
  /** The request's SERVER span: the parent of the call's downstream hops. */
  readonly trace: CallSpan;
}): CallOrigin & { flush(): Promise<void> } {
  return new FrontCallOrigin(
    init.sessionId,
    init.principal,
    init.signal,
    init.clientCapabilities,
    init.rawMeta,
    init.notify,
    init.requestClient,
    init.trace,
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
    readonly trace: CallSpan,
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

  /**
   * Resolves once the progress sent so far is out, plus PROGRESS_SETTLE_MS (at once when there was none:
   * no progressToken). A client that reads its last progress in the same chunk as the result loses it
   * (SDK clients dispatch notifications a microtask after responses); one event-loop turn was not always
   * enough for the client to read before the result followed on a loaded machine.
   */
  flush(): Promise<void> {
    const pending = this.pending;
    if (!pending) return DONE;
    return pending.then(() => new Promise<void>((resolve) => setTimeout(resolve, PROGRESS_SETTLE_MS)));
  }
}

const DONE = Promise.resolve();
/** How long a call that sent progress waits before its result (see flush). */
const PROGRESS_SETTLE_MS = 5;
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
