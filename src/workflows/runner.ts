import { setMaxListeners } from "node:events";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { DEFAULTS } from "../config/defaults.js";
import { AggregatorError, errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ProgressUpdate } from "../pipeline/types.js";
import type { CallSpan } from "../telemetry/span.js";
import type { StepInvoker } from "./call.js";
import { compensate } from "./compensate.js";
import type { CompiledStep, CompiledWorkflow } from "./compile.js";
import { executeStep } from "./execute.js";
import { checkFanOut, limitedInvoker, type CallBudget, type WorkflowLimits } from "./limits.js";
import { outcomeResult, type WorkflowOutcome } from "./report.js";
import { scopeOf, stopping, type RunState, type StepTrace, type WorkflowStatus } from "./state.js";
import { resolveValue } from "./template.js";

export type { StepInvoker } from "./call.js";
export { planWorkflow, workflowHints } from "./plan.js";

export interface RunOptions {
  readonly invoker: StepInvoker;
  /** The caller's cancellation. Aborting it cancels in-flight steps; completed steps are then compensated. */
  readonly signal?: AbortSignal | undefined;
  /** One notification per finished step: progress = finished steps, total = step count. */
  readonly onProgress?: ((update: ProgressUpdate) => void) | undefined;
  /** Each step's trace as it finishes (the dashboard's live view of a run). */
  readonly onStep?: ((trace: StepTrace) => void) | undefined;
  readonly log?: Logger | undefined;
  /** Passed to every step call (log correlation). */
  readonly requestId?: string | undefined;
  /** Opens a step's trace span (Telemetry.step under the workflow call's span); default none. */
  readonly stepSpan?: ((step: CompiledStep) => CallSpan) | undefined;
  /** Fan-out bounds; default DEFAULT_WORKFLOW_LIMITS. */
  readonly limits?: WorkflowLimits | undefined;
  /** The call budget of the run this one is nested in (else a fresh one of limits.maxCallsPerRun). */
  readonly budget?: CallBudget | undefined;
}

export const DEFAULT_WORKFLOW_LIMITS: WorkflowLimits = DEFAULTS.workflowLimits;

function notifier(run: RunState, options: RunOptions): (t: StepTrace) => void {
  let finished = 0;
  return (t) => {
    finished++;
    try {
      options.onProgress?.({
        progress: finished,
        total: run.wf.steps.length,
        message: `${t.id}: ${t.status}`,
      });
      options.onStep?.(t);
    } catch (err) {
      run.log?.warn({ err: errorMessage(err) }, "workflow progress callback failed");
    }
  };
}

/** Starts every ready step (definition order) up to maxConcurrency; skips steps behind a non-ok dependency. */
async function schedule(run: RunState, notify: (t: StepTrace) => void): Promise<void> {
  const pending: CompiledStep[] = [...run.wf.steps];
  const inFlight = new Map<string, Promise<unknown>>();
  const finished = (id: string): boolean => run.trace.has(id);
  for (;;) {
    for (let progressed = true; progressed && !stopping(run);) {
      progressed = false;
      for (const step of [...pending]) {
        if (stopping(run)) break;
        if (!step.deps.every(finished)) continue;
        const blocker = step.deps.find((d) => run.trace.get(d)?.status !== "ok");
        if (blocker === undefined && inFlight.size >= run.wf.maxConcurrency) continue;
        pending.splice(pending.indexOf(step), 1);
        progressed = true;
        if (blocker !== undefined) {
          const why = run.trace.get(blocker)?.status === "skipped" ? "was skipped" : "failed";
          notify(skip(run, step, `dependency "${blocker}" ${why}`));
          continue;
        }
        const running = executeStep(run, step).then(notify);
        inFlight.set(step.id, running);
        void running.finally(() => inFlight.delete(step.id));
      }
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight.values());
    // Let the `finally` above remove the settled entry before looking again.
    await Promise.resolve();
  }
  const why = run.signal.aborted
    ? `not run: ${errorMessage(run.signal.reason)}`
    : "not run: workflow aborted";
  for (const step of pending) notify(skip(run, step, why));
}

function skip(run: RunState, step: CompiledStep, reason: string): StepTrace {
  const t: StepTrace = {
    id: step.id,
    tool: step.tool,
    status: "skipped",
    durationMs: 0,
    attempts: 0,
    reason,
  };
  run.trace.set(step.id, t);
  return t;
}

function shapeOutput(run: RunState, lenient: boolean): unknown {
  const scope = scopeOf(run, { missingStepsAreNull: true });
  const last = run.wf.steps[run.wf.steps.length - 1];
  try {
    if (run.wf.output) return resolveValue(run.wf.output, scope);
    return last && run.results.has(last.id) ? run.results.get(last.id) : null;
  } catch (err) {
    if (lenient) return null;
    throw err;
  }
}

/**
 * Runs a compiled workflow. Invalid input throws AggregatorError INVALID_ARGUMENTS (mapped at the edge like
 * any tool's bad arguments); everything else becomes the result: structuredContent
 * `{ status, output, trace, failed?, compensated? }` and a text summary, isError for failed and cancelled.
 */
export async function runWorkflow(
  wf: CompiledWorkflow,
  input: unknown,
  options: RunOptions,
): Promise<CallToolResult> {
  const checked = wf.checkInput(input);
  if (!checked.ok) throw new AggregatorError("INVALID_ARGUMENTS", `${wf.name}: ${checked.error}`);
  const limits = options.limits ?? DEFAULT_WORKFLOW_LIMITS;
  const budget = options.budget ?? { used: 0, max: limits.maxCallsPerRun };
  checkFanOut(wf, limits, budget);

  const ctl = new AbortController();
  // Every waiting step, item and attempt listens to it (up to maxConcurrency × forEachConcurrency): not a leak.
  setMaxListeners(0, ctl.signal);
  const cancelled = new AggregatorError("CANCELLED", "cancelled by the caller");
  const onCancel = (): void => ctl.abort(cancelled);
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener("abort", onCancel, { once: true });
  const timer =
    wf.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            ctl.abort(new AggregatorError("WORKFLOW_FAILED", `workflow timed out after ${wf.timeoutMs} ms`)),
          wf.timeoutMs,
        );
  const run: RunState = {
    wf,
    input: checked.value,
    invoker: limitedInvoker(options.invoker, limits, budget, (message) => {
      run.failure ??= { step: "workflow", error: message };
    }),
    undoInvoker: options.invoker,
    limits,
    requestId: options.requestId,
    log: options.log,
    stepSpan: options.stepSpan,
    signal: ctl.signal,
    results: new Map(),
    trace: new Map(),
    completions: [],
    partial: false,
  };
  try {
    await schedule(run, notifier(run, options));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onCancel);
  }

  const wasCancelled = ctl.signal.reason === cancelled;
  let status: WorkflowStatus = run.partial ? "partial" : "ok";
  let failed = run.failure;
  if (wasCancelled) status = "cancelled";
  else if (ctl.signal.aborted) failed ??= { step: "workflow", error: errorMessage(ctl.signal.reason) };
  if (failed !== undefined && !wasCancelled) status = "failed";

  let undone: string[] | undefined;
  if (status === "failed" || status === "cancelled") undone = await compensate(run);

  let output: unknown;
  try {
    output = shapeOutput(run, undone !== undefined);
  } catch (err) {
    // The steps' effects stand; only the shaping failed, so nothing is compensated.
    status = "failed";
    failed = { step: "output", error: errorMessage(err) };
    output = null;
  }

  const outcome: WorkflowOutcome = {
    status,
    output,
    trace: wf.steps.map((s) => run.trace.get(s.id)).filter((t) => t !== undefined),
    ...(failed ? { failed } : {}),
    ...(undone ? { compensated: undone } : {}),
  };
  options.log?.info({ status, compensated: undone }, "workflow finished");
  return outcomeResult(wf.name, outcome);
}
