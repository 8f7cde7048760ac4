import { errorMessage } from "../errors.js";
import { callOnce } from "./call.js";
import { scopeOf, type ItemDone, type RunState } from "./state.js";
import { resolveValue } from "./template.js";

/**
 * Saga rollback: runs the `compensate` action of everything that completed, newest first, one at a time.
 * A forEach step is undone item by item (newest first) with {{item}}, {{index}} and
 * {{steps.<self>.result}} bound to that item's own result. Compensations are not tied to the caller's
 * signal (they must run after a cancellation); each has its own timeoutMs. A failing compensation is
 * recorded and the others still run. Returns the ids of the steps that were fully undone.
 */
export async function compensate(run: RunState): Promise<string[]> {
  const undone: string[] = [];
  for (const { step, items } of [...run.completions].reverse()) {
    const action = step.compensate;
    const trace = run.trace.get(step.id);
    if (!action || !trace) continue;
    const units: (ItemDone | undefined)[] = items ? [...items].reverse() : [undefined];
    const errors: string[] = [];
    for (const unit of units) {
      const results = new Map(run.results);
      if (unit) results.set(step.id, unit.result);
      const scope = scopeOf(run, unit ? { results, item: unit.item, index: unit.index } : { results });
      try {
        const args = resolveValue(action.args, scope) as Record<string, unknown>;
        await callOnce(run.undoInvoker, action.tool, args, {
          signal: new AbortController().signal,
          timeoutMs: action.timeoutMs,
          requestId: run.requestId,
        });
      } catch (err) {
        errors.push(unit ? `item ${unit.index}: ${errorMessage(err)}` : errorMessage(err));
      }
    }
    if (errors.length > 0) {
      trace.compensationError = errors.join("; ");
      run.log?.warn(
        { workflow: run.wf.name, step: step.id, error: trace.compensationError },
        "compensation failed",
      );
      continue;
    }
    if (trace.status === "ok") trace.status = "compensated";
    undone.push(step.id);
  }
  return undone;
}
