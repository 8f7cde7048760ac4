import { getEventListeners } from "node:events";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../errors.js";
import { Deadlines } from "../deadlines.js";
import { follow } from "../../signals.js";
import type { CallContext, Middleware } from "../types.js";

/** The reason a call's signal aborts with when its total budget ran out. */
class BudgetSpent extends Error {
  constructor() {
    super("total budget spent");
  }
}

/** Most idle controllers kept for reuse (see SpareControllers). */
const MAX_SPARE = 256;

/**
 * Controllers of calls that ended without being aborted and with no listener left on their signal, handed
 * to the next calls. Making an AbortSignal is Node's most expensive step of a call (about 2.5 µs of CPU on
 * a quiet machine, more than all the pipeline's layers together: docs/PERFORMANCE.md); a signal that was
 * never aborted and that nobody listens to any more is indistinguishable from a new one. An aborted
 * controller is never reused.
 */
class SpareControllers {
  private readonly spare: AbortController[] = [];

  take(): AbortController {
    return this.spare.pop() ?? new AbortController();
  }

  give(controller: AbortController): void {
    const signal = controller.signal;
    if (!signal.aborted && this.spare.length < MAX_SPARE && getEventListeners(signal, "abort").length === 0)
      this.spare.push(controller);
  }
}

/**
 * One cancellation for the whole call: the caller's signal, the tool's total budget and the aggregator's
 * shutdown, as ONE AbortController per call (docs/adr/0018). The per-attempt timeout is applied by forward
 * (and restarted by progress).
 *
 * The call's controller follows the caller's signal through signals.ts `follow` (one listener per caller
 * signal whatever the number of calls under it, removed when the last of them ends). Shutdown aborts the
 * calls in flight from one listener on the shutdown signal, added once. Every call's total budget is on
 * one timer (deadlines.ts, docs/adr/0010), which also lists the calls in flight. A controller that was
 * not aborted is reused by a later call once nothing listens to it (SpareControllers); the call's context
 * gets its caller's signal back when the call ends.
 */
export function createDeadlineLayer(now: () => number = Date.now, shutdown?: AbortSignal): Middleware {
  const budgets = new Deadlines<AbortController>((controller) => controller.abort(new BudgetSpent()));
  shutdown?.addEventListener(
    "abort",
    () => {
      for (const controller of budgets.items()) controller.abort(shutdown.reason);
    },
    { once: true },
  );
  const spare = new SpareControllers();
  const cancelled = (ctx: CallContext, cause: unknown): AggregatorError =>
    new AggregatorError("CANCELLED", "the call was cancelled", {
      cause,
      details: { server: ctx.route.server },
    });
  /** The failure a caller sees: CANCELLED at shutdown, DOWNSTREAM_TIMEOUT when the total budget ran out. */
  const failure = (error: unknown, ctx: CallContext, caller: AbortSignal, own: AbortSignal): unknown => {
    if (caller.aborted || !isAggregatorError(error, "CANCELLED")) return error;
    if (shutdown?.aborted) {
      return new AggregatorError("CANCELLED", "autonomous-mcp is shutting down; the call was cancelled", {
        cause: error,
        details: { server: ctx.route.server },
      });
    }
    if (!(own.reason instanceof BudgetSpent)) return error;
    const totalTimeoutMs = ctx.route.policy.totalTimeoutMs;
    return new AggregatorError(
      "DOWNSTREAM_TIMEOUT",
      `${ctx.route.server} did not finish ${ctx.route.originalName} within its total budget of ${totalTimeoutMs} ms (totalTimeoutMs)`,
      {
        cause: error,
        details: {
          server: ctx.route.server,
          tool: ctx.route.originalName,
          timeoutMs: totalTimeoutMs,
          total: true,
        },
      },
    );
  };
  return (next) =>
    async function deadlineLayer(ctx): Promise<CallToolResult> {
      const { timeoutMs, totalTimeoutMs } = ctx.route.policy;
      const caller = ctx.signal;
      const controller = spare.take();
      const unfollow = follow(caller, controller);
      if (shutdown?.aborted) controller.abort(shutdown.reason);
      const own = controller.signal;
      // Cancelled before it started (by the caller or shutdown): nothing goes further in.
      if (own.aborted) {
        unfollow();
        throw failure(cancelled(ctx, own.reason), ctx, caller, own);
      }
      budgets.set(controller, totalTimeoutMs);
      ctx.attemptTimeoutMs = timeoutMs;
      ctx.deadlineAt = now() + totalTimeoutMs;
      ctx.signal = own;
      try {
        return await next(ctx);
      } catch (error) {
        // Mapped before the clean-up, while the call's signal still says why it aborted.
        throw failure(error, ctx, caller, own);
      } finally {
        budgets.delete(controller);
        unfollow();
        ctx.signal = caller;
        spare.give(controller);
      }
    };
}
