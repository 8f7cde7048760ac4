import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { CallOrigin } from "../front/backend.js";
import type { Logger } from "../logger.js";
import type { Cancellation } from "./cancel.js";
import type { CallSpan } from "../telemetry/span.js";

/** Tool behaviour hints after config overrides and the server's trustAnnotations switch are applied. */
export interface ToolHints {
  readonly readOnly: boolean;
  readonly idempotent: boolean;
  readonly destructive: boolean;
}

/** Everything the pipeline needs to know about one tool, resolved once per catalog build (not per call). */
export interface ToolPolicy {
  readonly hints: ToolHints;
  /** True when a failed attempt may be sent again: readOnly || idempotent. */
  readonly retrySafe: boolean;
  /** Per-attempt budget in ms; progress from downstream restarts it. */
  readonly timeoutMs: number;
  /** Whole-call budget in ms across attempts and backoff sleeps. */
  readonly totalTimeoutMs: number;
  /** > 0 only for read-only tools that opted in. */
  readonly cacheTtlMs: number;
}

/** The route a public tool name resolves to. */
export interface ToolRoute {
  readonly publicName: string;
  /** Config key of the downstream server. */
  readonly server: string;
  readonly originalName: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly policy: ToolPolicy;
}

export interface ProgressUpdate {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

/** One tools/call travelling through the pipeline. Mutable fields are owned by named layers. */
export interface CallContext {
  readonly requestId: string;
  readonly route: ToolRoute;
  readonly args: Record<string, unknown>;
  /** Who the call is for (the authenticated HTTP principal, else the front session): the limiter queue's fairness key. */
  readonly client?: string | undefined;
  /** The front client session of the call (forward picks that session's connection for per-client servers). */
  readonly sessionId?: string | undefined;
  /** The caller's cancellation (client cancel, shutdown); deadline replaces it with one that also fires at the total budget. */
  cancel: Cancellation;
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
  /** Child logger bound to request id, server and tool (set by observe). */
  log: Logger;
  /** 1-based attempt number (set by retry). */
  attempt: number;
  /** Per-attempt timeout in ms the forward layer applies (set by deadline). */
  attemptTimeoutMs: number;
  /** Absolute epoch ms after which no attempt may run (set by deadline). */
  deadlineAt: number;
  /** Free-form facts layers leave for observe (e.g. cache: "hit"). */
  readonly notes: Record<string, unknown>;
}

export type Handler = (ctx: CallContext) => Promise<CallToolResult>;
export type Middleware = (next: Handler) => Handler;
