import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, errorMessage } from "../errors.js";
import type { CallSpan } from "../telemetry/span.js";
import type { OnError } from "./schema.js";

export interface StepInvoker {
  /** Calls any catalog tool or workflow by public name through the aggregator's router + pipeline. */
  call(
    tool: string,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; requestId?: string; trace?: CallSpan | undefined },
  ): Promise<CallToolResult>;
}

/** The text items of a result, joined with newlines. */
export function resultText(result: CallToolResult): string {
  return (result.content ?? [])
    .flatMap((c) => (c.type === "text" && typeof c.text === "string" ? [c.text] : []))
    .join("\n");
}

/** A step's `result`: structuredContent if present, else its text parsed as JSON if it parses, else the text. */
export function stepResultValue(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const text = resultText(result);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export interface AttemptOptions {
  /** Aborts the call (caller cancellation, workflow timeout). */
  readonly signal: AbortSignal;
  /** Budget for this one call; the call's signal is aborted when it runs out. */
  readonly timeoutMs?: number | undefined;
  readonly requestId?: string | undefined;
  /** The step's span: the parent of the call's downstream hops. */
  readonly trace?: CallSpan | undefined;
}

/**
 * One call. Fails (throws) when the invoker throws, the result has isError (message = its text), the signal
 * aborts or the time budget runs out. The callee's signal is aborted in the last two cases, and the wait stops
 * even if the callee ignores its signal.
 */
export async function callOnce(
  invoker: StepInvoker,
  tool: string,
  args: Record<string, unknown>,
  options: AttemptOptions,
): Promise<unknown> {
  options.signal.throwIfAborted();
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort(options.signal.reason);
  options.signal.addEventListener("abort", onAbort, { once: true });
  const { timeoutMs } = options;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            ctl.abort(new AggregatorError("DOWNSTREAM_TIMEOUT", `${tool} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
  let stopWaiting: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    stopWaiting = (): void => reject(ctl.signal.reason as Error);
    ctl.signal.addEventListener("abort", stopWaiting, { once: true });
  });
  try {
    const call = invoker.call(tool, args, {
      signal: ctl.signal,
      requestId: options.requestId,
      trace: options.trace,
    });
    call.catch(() => undefined); // it may settle after we stopped waiting
    const result = await Promise.race([call, aborted]);
    if (result.isError === true) {
      throw new AggregatorError("DOWNSTREAM_ERROR", resultText(result) || `${tool} returned an error`);
    }
    return stepResultValue(result);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", onAbort);
    ctl.signal.removeEventListener("abort", stopWaiting);
    aborted.catch(() => undefined);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener("abort", cancel);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const cancel = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", cancel, { once: true });
  });
}

/** Thrown by callWithRetry; carries how many calls were made. */
export class StepCallError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StepCallError";
  }
}

export interface RetryOptions extends AttemptOptions {
  readonly onError: OnError;
  /** True once the workflow is winding down: no further attempt starts. */
  readonly stopping: () => boolean;
}

/** Calls with the step's `{ retry: N }` policy. Never retries after the signal aborted. */
export async function callWithRetry(
  invoker: StepInvoker,
  tool: string,
  args: Record<string, unknown>,
  options: RetryOptions,
): Promise<{ value: unknown; attempts: number }> {
  const retries = typeof options.onError === "object" ? options.onError.retry : 0;
  const delayMs = typeof options.onError === "object" ? options.onError.delayMs : 0;
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      return { value: await callOnce(invoker, tool, args, options), attempts: attempt };
    } catch (err) {
      failure = err;
    }
    const giveUp = (): boolean => attempt > retries || options.signal.aborted || options.stopping();
    if (!giveUp()) await sleep(delayMs, options.signal).catch((err: unknown) => (failure = err));
    // The workflow may have started winding down during the pause.
    if (giveUp()) throw new StepCallError(errorMessage(failure), attempt, { cause: failure });
  }
}
