import { randomUUID } from "node:crypto";
import type { CallContext } from "./types.js";

/** What the place a call enters knows; the layers' own fields start empty. */
export type CallInit = Pick<CallContext, "requestId" | "route" | "args" | "signal" | "log"> &
  Partial<
    Pick<
      CallContext,
      "client" | "sessionId" | "onProgress" | "principal" | "meta" | "origin" | "trace" | "input"
    >
  >;

/** A call's context, every field present (one shape for every call: router, routed requests, tests). */
export function createCallContext(init: CallInit): CallContext {
  return {
    requestId: init.requestId,
    route: init.route,
    args: init.args,
    client: init.client,
    sessionId: init.sessionId,
    signal: init.signal,
    onProgress: init.onProgress,
    principal: init.principal,
    meta: init.meta,
    origin: init.origin,
    trace: init.trace,
    input: init.input,
    log: init.log,
    invalid: false,
    cacheOutcome: undefined,
    attemptTimeoutMs: init.route.policy.timeoutMs,
    deadlineAt: 0,
    attempts: 0,
  };
}

/**
 * The one source of request ids of an aggregator: `<8 random hex>-<n>`. The router takes one for every
 * tools/call (downstream, meta-tool or workflow) and the routed-request path for every guarded request;
 * nothing else makes request ids.
 */
export function requestIds(): () => string {
  const prefix = randomUUID().slice(0, 8);
  let seq = 0;
  return () => `${prefix}-${++seq}`;
}
