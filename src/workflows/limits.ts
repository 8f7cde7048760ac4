import { AggregatorError } from "../errors.js";
import type { StepInvoker } from "./call.js";
import type { CompiledStep, CompiledWorkflow } from "./compile.js";

/** Bounds on what one workflow run may send (config `workflowLimits`, docs/workflows.md). */
export interface WorkflowLimits {
  /** Items one forEach may iterate (a literal array is refused before any call; a template fails its step). */
  readonly maxForEachItems: number;
  /** Tool calls one run may make, nested workflows' calls and step retries included. */
  readonly maxCallsPerRun: number;
  /** Calls of one run in flight at once, across all its steps and forEach items. */
  readonly maxInFlightPerRun: number;
}

/** Calls left to a run and the workflows it calls (shared with nested runs through the call's origin). */
export interface CallBudget {
  used: number;
  readonly max: number;
}

/** The item count of a forEach over a literal array, known before the run. */
function literalItems(step: CompiledStep): number | undefined {
  const f = step.forEach;
  if (f?.kind === "array") return f.items.length;
  if (f?.kind === "literal" && Array.isArray(f.value)) return f.value.length;
  return undefined;
}

/**
 * Refuses a run whose fan-out is already too large on paper, before any call: a literal forEach over more
 * than maxForEachItems items, or more calls than the budget has left (one per step, one per literal item).
 */
export function checkFanOut(wf: CompiledWorkflow, limits: WorkflowLimits, budget: CallBudget): void {
  let calls = 0;
  for (const step of wf.steps) {
    const items = literalItems(step);
    if (items !== undefined && items > limits.maxForEachItems) {
      throw new AggregatorError(
        "WORKFLOW_INVALID",
        `step "${step.id}": forEach has ${items} items; a forEach may iterate at most ${limits.maxForEachItems} (workflowLimits.maxForEachItems); nothing was called`,
        { details: { step: step.id, items, limit: limits.maxForEachItems } },
      );
    }
    calls += items ?? 1;
  }
  const left = budget.max - budget.used;
  if (calls > left) {
    throw new AggregatorError(
      "WORKFLOW_INVALID",
      `the workflow would make at least ${calls} calls; a run may make at most ${budget.max} (workflowLimits.maxCallsPerRun)${left < budget.max ? `, ${left} of them left to this nested run` : ""}; nothing was called`,
      { details: { calls, limit: budget.max } },
    );
  }
}

/** A forEach that resolved at run time to too many items: its step fails before calling anything. */
export function checkItems(count: number, limits: WorkflowLimits): void {
  if (count > limits.maxForEachItems)
    throw new Error(
      `forEach resolved to ${count} items; a forEach may iterate at most ${limits.maxForEachItems} (workflowLimits.maxForEachItems); no item was called`,
    );
}

/**
 * The run's invoker: every call spends one unit of the budget (`onExhausted` is told once, and the call
 * fails), and at most maxInFlightPerRun calls are in flight at once (the others wait in FIFO order).
 */
export function limitedInvoker(
  invoker: StepInvoker,
  limits: WorkflowLimits,
  budget: CallBudget,
  onExhausted: (message: string) => void,
): StepInvoker {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    running--;
    waiting.shift()?.();
  };
  const slot = (signal: AbortSignal): Promise<void> => {
    if (running < limits.maxInFlightPerRun) {
      running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener("abort", stop);
        running++;
        resolve();
      };
      const stop = (): void => {
        const i = waiting.indexOf(go);
        if (i >= 0) waiting.splice(i, 1);
        reject(signal.reason as Error);
      };
      waiting.push(go);
      signal.addEventListener("abort", stop, { once: true });
    });
  };
  return {
    call: async (tool, args, opts) => {
      if (budget.used >= budget.max) {
        const message = `the run reached its limit of ${budget.max} calls (workflowLimits.maxCallsPerRun); ${tool} was not called`;
        onExhausted(message);
        throw new AggregatorError("WORKFLOW_FAILED", message, { details: { limit: budget.max } });
      }
      budget.used++;
      await slot(opts.signal);
      try {
        return await invoker.call(tool, args, opts);
      } finally {
        release();
      }
    },
  };
}
