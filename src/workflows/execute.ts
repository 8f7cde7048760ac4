import { errorMessage } from "../errors.js";
import { ATTR, PIPELINE_ATTR } from "../telemetry/semconv.js";
import { NOOP_SPAN, type CallSpan } from "../telemetry/span.js";
import { callWithRetry, StepCallError } from "./call.js";
import type { CompiledStep } from "./compile.js";
import { evaluateCondition } from "./condition.js";
import { checkItems } from "./limits.js";
import { scopeOf, stopping, type ItemDone, type RunState, type StepTrace } from "./state.js";
import { resolveValue } from "./template.js";

class ItemsStopped extends Error {
  constructor() {
    super("workflow aborted before every item ran");
  }
}

function callStep(run: RunState, step: CompiledStep, args: Record<string, unknown>, span: CallSpan) {
  return callWithRetry(run.invoker, step.tool, args, {
    signal: run.signal,
    trace: span,
    timeoutMs: step.timeoutMs,
    requestId: run.requestId,
    onError: step.onError,
    stopping: () => stopping(run),
  });
}

/** Runs the items with at most forEachConcurrency in flight; stops starting items after a failure. */
async function runItems(
  run: RunState,
  step: CompiledStep,
  items: readonly unknown[],
  trace: StepTrace,
  done: ItemDone[],
  span: CallSpan,
) {
  const results: unknown[] = new Array<unknown>(items.length);
  let next = 0;
  let failure: { index: number; error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined && !stopping(run)) {
      const index = next++;
      const item = items[index];
      try {
        const args = resolveValue(step.args, scopeOf(run, { item, index })) as Record<string, unknown>;
        const r = await callStep(run, step, args, span);
        trace.attempts += r.attempts;
        results[index] = r.value;
        done.push({ index, item, result: r.value });
      } catch (err) {
        if (err instanceof StepCallError) trace.attempts += err.attempts;
        failure ??= { index, error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(step.forEachConcurrency, items.length) }, worker));
  if (failure)
    throw new Error(`item ${failure.index}: ${errorMessage(failure.error)}`, { cause: failure.error });
  if (done.length < items.length) throw new ItemsStopped();
  return results;
}

/**
 * Runs one step whose dependencies all finished ok, and records the outcome in `run`. Never rejects: a
 * failure becomes status error (and either marks the run partial or starts the abort), an abort of the run's
 * signal while the step was in flight becomes status cancelled.
 */
export async function executeStep(run: RunState, step: CompiledStep): Promise<StepTrace> {
  const started = performance.now();
  const trace: StepTrace = { id: step.id, tool: step.tool, status: "ok", durationMs: 0, attempts: 0 };
  const done: ItemDone[] = [];
  // A child span of the workflow call's span (tracing on); the step's calls are its children.
  const span = run.stepSpan?.(step) ?? NOOP_SPAN;
  let failure: unknown;
  try {
    if (step.when && !evaluateCondition(step.when, scopeOf(run))) {
      trace.status = "skipped";
      trace.reason = "condition is false";
    } else if (step.forEach) {
      const items = resolveValue(step.forEach, scopeOf(run));
      if (!Array.isArray(items)) {
        throw new Error(`forEach must resolve to an array, got ${items === null ? "null" : typeof items}`);
      }
      trace.items = items.length;
      checkItems(items.length, run.limits);
      run.results.set(step.id, await runItems(run, step, items, trace, done, span));
      run.completions.push({ step, items: done });
    } else {
      const args = resolveValue(step.args, scopeOf(run)) as Record<string, unknown>;
      const r = await callStep(run, step, args, span);
      trace.attempts = r.attempts;
      run.results.set(step.id, r.value);
      run.completions.push({ step });
    }
  } catch (err) {
    failure = err;
    if (err instanceof StepCallError) trace.attempts = err.attempts;
    // Items that completed before the failure are real side effects: they are undone on abort.
    if (done.length > 0) run.completions.push({ step, items: done });
    trace.error = errorMessage(err);
    if (run.signal.aborted || err instanceof ItemsStopped) {
      trace.status = "cancelled";
    } else {
      trace.status = "error";
      if (step.onError === "continue") run.partial = true;
      else run.failure ??= { step: step.id, error: trace.error };
    }
  }
  trace.durationMs = Math.round(performance.now() - started);
  run.trace.set(step.id, trace);
  if (span.live) {
    span.set(ATTR.workflowStatus, trace.status);
    if (trace.attempts > 0) span.set(PIPELINE_ATTR.retryAttempt, trace.attempts);
    if (failure === undefined) span.end();
    else span.fail(failure);
  }
  run.log?.debug(
    {
      workflow: run.wf.name,
      step: step.id,
      tool: step.tool,
      status: trace.status,
      durationMs: trace.durationMs,
    },
    "workflow step finished",
  );
  return trace;
}
