/**
 * One traced and timed MCP operation: a SERVER span (inbound request), a CLIENT span (downstream hop) or
 * an INTERNAL span (workflow step). It is also the parent handed to the operations it causes
 * (CallOrigin.trace → CallContext.trace → outbound/step). With telemetry off every call returns the
 * shared NOOP_SPAN: no object, no clock read, no work.
 */
export interface CallSpan {
  /** False on NOOP_SPAN: a caller may skip work that only telemetry needs (e.g. reading the clock). */
  readonly live: boolean;
  /** Sets one of our attributes (PIPELINE_ATTR: cache, retry attempt, breaker state, queue wait; autonomous_mcp.*). */
  set(key: string, value: string | number): void;
  /**
   * The `_meta` to send downstream: a copy of `meta` whose `traceparent` / `tracestate` / `baggage` are
   * this span's (the caller's own are replaced). The caller's object is never changed. With tracing
   * off, `meta` itself.
   */
  traceMeta(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined;
  /** Ends the operation with its answer: an isError result is error.type `tool_error`, anything else ok. */
  end(result?: unknown): void;
  /** Ends the operation with a failure: error.type = its JSON-RPC code, our error code, or `_OTHER`. */
  fail(error: unknown): void;
}

function identity(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
  return meta as Record<string, unknown> | undefined;
}

function nothing(): void {
  // telemetry is off
}

/** The handle every hook returns while telemetry is off (frozen, shared). */
export const NOOP_SPAN: CallSpan = Object.freeze({
  live: false,
  set: nothing,
  traceMeta: identity,
  end: nothing,
  fail: nothing,
});

/**
 * The inbound request as the front sees it; the v2 SDK's handler context (`ctx`) has this shape, so the
 * front hands it over as it is (no object is built per request).
 */
export interface InboundRequest {
  readonly sessionId?: string | undefined;
  readonly mcpReq: {
    readonly id?: string | number | null | undefined;
    readonly method: string;
    /** The request's `_meta`: an inbound `traceparent` / `tracestate` / `baggage` here is the parent. */
    readonly _meta?: Readonly<Record<string, unknown>> | undefined;
  };
}
