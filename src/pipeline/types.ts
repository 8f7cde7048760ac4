import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallOrigin } from "../front/backend.js";
import type { Logger } from "../logger.js";
import type { CallSpan } from "../telemetry/span.js";
import type { ToolRoute } from "../catalog/routes.js";
import type { DownstreamInput } from "../downstream/types.js";

// The catalog's per-tool data, as the pipeline reads it (defined by the catalog, which resolves it).
export type { ToolHints, ToolPolicy, ToolRoute } from "../catalog/routes.js";

export interface ProgressUpdate {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

/** What cache sets: a stored result, a new downstream call, or a share of an identical call in flight. */
export type CacheOutcome = "hit" | "miss" | "coalesced";

/**
 * One tools/call travelling through the pipeline. Every mutable field is OWNED by one layer: only its
 * owner writes it, outer layers (observe) read it after next() settles. Made by createCallContext
 * (context.ts), so every call has the same shape.
 *
 * | field             | owner                                   |
 * |-------------------|-----------------------------------------|
 * | requestId         | the router (context.ts requestIds)      |
 * | log               | observe                                 |
 * | invalid           | validate                                |
 * | cacheOutcome      | cache                                   |
 * | signal            | the caller; replaced by cache (a shared flight's) and by deadline (the call's own) |
 * | attemptTimeoutMs  | deadline                                |
 * | deadlineAt        | deadline                                |
 * | attempts          | retry                                   |
 */
export interface CallContext {
  /** The call's one request id, given where the call enters (router, routed requests): logged as reqId, in CallEvent. */
  readonly requestId: string;
  readonly route: ToolRoute;
  readonly args: Record<string, unknown>;
  /** Who the call is for (the authenticated HTTP principal, else the front session): the limiter queue's fairness key. */
  readonly client?: string | undefined;
  /** The front client session of the call (forward picks that session's connection for per-client servers). */
  readonly sessionId?: string | undefined;
  /**
   * The call's cancellation. The caller's signal (client cancel, a workflow step's, shutdown) until deadline
   * replaces it with the call's own, which also aborts at the total budget and at shutdown (cache gives a
   * shared call the signal of its flight, aborted when its last waiter left). Deadline gives the caller's
   * back when the call ends (its controller may serve a later call).
   */
  signal: AbortSignal;
  /** Relays downstream progress to the caller; undefined when the caller sent no progressToken. */
  readonly onProgress?: ((update: ProgressUpdate) => void) | undefined;
  /** The HTTP principal of the caller (CallOrigin.principal); undefined on stdio. */
  readonly principal?: string | undefined;
  /** The caller's request `_meta` minus progressToken, passed to the downstream untouched. */
  readonly meta?: Record<string, unknown> | undefined;
  /** The caller, for the handlers that answer inside the aggregator (meta-tools, workflows, routed requests). */
  readonly origin?: CallOrigin | undefined;
  /** The span of the operation this call belongs to (the client's request, a workflow step): the parent of its hops. */
  readonly trace?: CallSpan | undefined;
  /**
   * Set on a front client's own call (the bridge, src/bridge/): a modern server's input_required answer is
   * handed back to the client; on a retry, the client's inputResponses and the server's requestState.
   */
  readonly input?: DownstreamInput | undefined;
  /** Logger bound to server and tool (and reqId when debug logging is on); set by observe. */
  log: Logger;
  /** True when validate refused the arguments (its isError result is counted as "invalid"); set by validate. */
  invalid: boolean;
  /** How cache served the call; undefined when the tool is not cached. Set by cache. */
  cacheOutcome: CacheOutcome | undefined;
  /** Per-attempt timeout in ms the forward layer applies (set by deadline). */
  attemptTimeoutMs: number;
  /** Absolute epoch ms after which no attempt may run; 0 before deadline ran (set by deadline). */
  deadlineAt: number;
  /** Attempts started so far (1-based number of the running attempt); 0 when retry did not run. Set by retry. */
  attempts: number;
}

export type Handler = (ctx: CallContext) => Promise<CallToolResult>;
export type Middleware = (next: Handler) => Handler;
