import {
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/server";
import type { CallOrigin, ClientRequester } from "../front/backend.js";
import { AggregatorError } from "../errors.js";

type Request = { method: string; params?: unknown };

/** A server→client request a 2025-era server made during a held call, waiting for the client's answer. */
interface Ask {
  readonly key: string;
  readonly request: Request;
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: unknown) => void;
  /** Sent to the client in an input_required answer (then its response is awaited). */
  sent: boolean;
}

/** What one round of a held call ends with: the call's outcome, or requests for the client. */
export type Step =
  | { readonly kind: "done"; readonly result: CallToolResult | Record<string, unknown> }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "asks"; readonly inputRequests: Record<string, Request>; readonly id: string };

const KIND_OF: Readonly<Record<string, "elicitation" | "sampling" | "roots">> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/**
 * One call of a 2026-07-28 client (which cannot be sent requests) that may reach a 2025-era server asking
 * for sampling, elicitation or roots mid-call. Its origin's requestClient parks such a request here; the
 * front answers the client `input_required` with it, the call is held (the downstream request pending)
 * until the client retries with its inputResponses, then the answer goes to the server and the call goes
 * on: its result — or its next request — answers the retry.
 */
export class HeldCall {
  readonly origin: CallOrigin;
  private readonly controller = new AbortController();
  private readonly asks = new Map<string, Ask>();
  private seq = 0;
  private outcome: Step | undefined;
  private wake: (() => void) | undefined;
  private detach: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The front origin of the round being served (progress goes to its request). */
  private current: CallOrigin;

  constructor(
    first: CallOrigin,
    /** Name and method the call was made with (a retry must name the same). */
    readonly name: string,
    readonly method: string,
  ) {
    this.current = first;
    const requestClient: ClientRequester = (request, signal) => this.ask(request, signal);
    this.origin = {
      sessionId: first.sessionId,
      principal: first.principal,
      signal: this.controller.signal,
      clientCapabilities: first.clientCapabilities,
      progressToken: first.progressToken,
      meta: first.meta,
      sendProgress: first.sendProgress
        ? (progress, total, message) => this.current.sendProgress?.(progress, total, message)
        : undefined,
      requestClient,
      asksInBand: true,
      workflowBudget: first.workflowBudget,
      trace: first.trace,
    };
  }

  /** Starts the call; its outcome is kept (a retry after it settled gets it). */
  run(call: (origin: CallOrigin) => Promise<CallToolResult | Record<string, unknown>>): void {
    call(this.origin).then(
      (result) => this.settle({ kind: "done", result }),
      (error: unknown) => this.settle({ kind: "failed", error }),
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Serves one round: the round's request cancels the call while it lasts; resolves with the call's
   * outcome or with the requests the server made (then the call is held: `hold` starts its timer).
   */
  async step(round: CallOrigin, newId: () => string): Promise<Step> {
    this.current = round;
    this.link(round.signal);
    try {
      for (;;) {
        if (this.outcome) return this.outcome;
        const unsent = [...this.asks.values()].filter((a) => !a.sent);
        if (unsent.length > 0) {
          const inputRequests: Record<string, Request> = {};
          for (const a of unsent) {
            a.sent = true;
            inputRequests[a.key] = a.request;
          }
          return { kind: "asks", inputRequests, id: newId() };
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.wake = undefined;
      this.detach?.();
      this.detach = undefined;
    }
  }

  /** The client's answers of a retry: each sent request gets its own, or an error naming what is missing. */
  answer(responses: Record<string, unknown> | undefined): void {
    for (const a of [...this.asks.values()]) {
      if (!a.sent) continue;
      this.asks.delete(a.key);
      const response = responses?.[a.key];
      if (response !== null && typeof response === "object" && !Array.isArray(response))
        a.resolve(response as Record<string, unknown>);
      else
        a.reject(
          new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `the client sent no answer to ${a.request.method} ('${a.key}') in its retry`,
          ),
        );
    }
  }

  /** Held between rounds: after `timeoutMs` without a retry the call is cancelled. */
  hold(timeoutMs: number, onExpire: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      onExpire();
      this.abort(
        new AggregatorError(
          "CANCELLED",
          `the client did not answer within ${timeoutMs} ms (bridge.heldCallTimeoutMs); the call was cancelled`,
        ),
      );
    }, timeoutMs);
    this.timer.unref();
  }

  resume(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Cancels the call and refuses the server's pending requests. */
  abort(reason: unknown): void {
    clearTimeout(this.timer);
    this.controller.abort(reason);
    for (const a of this.asks.values()) a.reject(reason);
    this.asks.clear();
  }

  private ask(request: Request, signal: AbortSignal): Promise<Record<string, unknown>> {
    const kind = KIND_OF[request.method];
    if (!kind || !this.origin.clientCapabilities?.[kind]) {
      // 2026-07-28: the client gets -32021 naming the capability; the call is cancelled.
      const error = new MissingRequiredClientCapabilityError(
        { requiredCapabilities: { [kind ?? request.method]: {} } as ClientCapabilities },
        `${request.method} was requested by the server during this call, but the client did not declare the ${kind ?? request.method} capability`,
      );
      this.settle({ kind: "failed", error });
      this.abort(error);
      return Promise.reject(error);
    }
    if (signal.aborted || this.controller.signal.aborted)
      return Promise.reject((signal.aborted ? signal.reason : this.controller.signal.reason) as Error);
    return new Promise((resolve, reject) => {
      const key = `${kind}-${++this.seq}`;
      const onAbort = (): void => {
        if (this.asks.delete(key)) reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.asks.set(key, {
        key,
        request,
        sent: false,
        resolve: (r) => (signal.removeEventListener("abort", onAbort), resolve(r)),
        reject: (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
      });
      this.wake?.();
    });
  }

  private settle(step: Step): void {
    this.outcome ??= step;
    this.wake?.();
  }

  private link(signal: AbortSignal): void {
    if (signal.aborted) return this.abort(signal.reason);
    const onAbort = (): void => this.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.detach = () => signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The calls held for their clients' input, by id: bounded (a client cannot hold the process's memory)
 * and each one timed (an abandoned exchange is cancelled downstream).
 */
export class HeldCalls {
  private readonly calls = new Map<string, HeldCall>();

  constructor(
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  get(id: string): HeldCall | undefined {
    return this.calls.get(id);
  }

  /** Keeps the call until its client's retry, or cancels it when the table is full (false). */
  hold(id: string, call: HeldCall): boolean {
    if (this.calls.size >= this.max) return false;
    this.calls.set(id, call);
    call.hold(this.timeoutMs, () => this.calls.delete(id));
    return true;
  }

  take(id: string): HeldCall | undefined {
    const call = this.calls.get(id);
    if (!call) return undefined;
    this.calls.delete(id);
    call.resume();
    return call;
  }

  /** Shutdown: every held call is cancelled. */
  abortAll(reason: unknown): void {
    for (const call of this.calls.values()) call.abort(reason);
    this.calls.clear();
  }
}
