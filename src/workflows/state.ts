import type { Logger } from "../logger.js";
import type { CallSpan } from "../telemetry/span.js";
import type { StepInvoker } from "./call.js";
import type { CompiledStep, CompiledWorkflow } from "./compile.js";
import type { WorkflowLimits } from "./limits.js";
import type { TemplateScope } from "./template.js";

export type StepStatus = "ok" | "error" | "skipped" | "compensated" | "cancelled";
export type WorkflowStatus = "ok" | "partial" | "failed" | "cancelled";

/** One line of the trace returned in structuredContent.trace. */
export interface StepTrace {
  readonly id: string;
  readonly tool: string;
  status: StepStatus;
  durationMs: number;
  /** Calls made (all forEach items and retries included); 0 when the step never called its tool. */
  attempts: number;
  /** Why the step failed or was cancelled. */
  error?: string;
  /** Why the step was skipped. */
  reason?: string;
  /** forEach only: how many items the step iterated. */
  items?: number;
  /** Set when the step's compensation failed (the step keeps its status). */
  compensationError?: string;
}

export interface ItemDone {
  readonly index: number;
  readonly item: unknown;
  readonly result: unknown;
}

/** Something that completed and may need undoing: a step, or the finished items of a forEach step. */
export interface Completion {
  readonly step: CompiledStep;
  /** forEach steps: the items that completed, in completion order. */
  readonly items?: readonly ItemDone[];
}

export interface RunState {
  readonly wf: CompiledWorkflow;
  readonly input: unknown;
  /** Steps call through this one: it spends the run's call budget and bounds its calls in flight. */
  readonly invoker: StepInvoker;
  /** Compensations call through this one: undoing is never refused for lack of budget. */
  readonly undoInvoker: StepInvoker;
  readonly limits: WorkflowLimits;
  readonly requestId?: string | undefined;
  readonly log?: Logger | undefined;
  /** Opens a step's span (tracing on); its calls are children of it. */
  readonly stepSpan?: ((step: CompiledStep) => CallSpan) | undefined;
  /** Aborted by the caller's cancellation or the workflow timeout. */
  readonly signal: AbortSignal;
  readonly results: Map<string, unknown>;
  readonly trace: Map<string, StepTrace>;
  /** In completion order; compensation walks it backwards. */
  readonly completions: Completion[];
  /** The first step failure that aborts the workflow. */
  failure?: { step: string; error: string };
  /** A step failed under onError "continue". */
  partial: boolean;
}

/** True once no new step, item or attempt may start. */
export function stopping(run: RunState): boolean {
  return run.failure !== undefined || run.signal.aborted;
}

export function scopeOf(run: RunState, extra?: Partial<TemplateScope>): TemplateScope {
  return {
    input: run.input,
    results: run.results,
    statusOf: (id) => run.trace.get(id)?.status,
    ...extra,
  };
}
