import { AggregatorError, isAggregatorError } from "../../errors.js";
import { childOf, type CallCancel, type Cancellation } from "../cancel.js";
import { invoke } from "../compose.js";
import { Deadlines } from "../deadlines.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallContext, Middleware } from "../types.js";

/**
 * One cancellation for the whole call: the caller's cancel, the tool's total budget and the aggregator's
 * shutdown. The per-attempt timeout is applied by forward (and restarted by progress).
 *
 * Shutdown aborts the calls in flight from one listener on the shutdown signal (a set of live calls),
 * not one listener per call: a composite with a long-lived signal stays reachable from it, and EventTarget
 * listeners are a measurable share of a stdio call's CPU time (docs/adr/0006).
 */
export function createDeadlineLayer(now: () => number = Date.now, shutdown?: AbortSignal): Middleware {
  const live = new Set<CallCancel>();
  shutdown?.addEventListener(
    "abort",
    () => {
      for (const cancel of [...live]) cancel.abort(shutdown.reason);
    },
    { once: true },
  );
  // Every call's total budget on one timer (no Node timer created and dropped per call).
  const spent = new WeakSet<CallCancel>();
  const budgets = new Deadlines<CallCancel>((cancel) => {
    spent.add(cancel);
    cancel.abort(new Error("total budget spent"));
  });
  /** The failure a caller sees: CANCELLED at shutdown, DOWNSTREAM_TIMEOUT when the total budget ran out. */
  const failure = (error: unknown, ctx: CallContext, caller: Cancellation, cancel: CallCancel): unknown => {
    if (caller.aborted || !isAggregatorError(error, "CANCELLED")) return error;
    if (shutdown?.aborted) {
      return new AggregatorError("CANCELLED", "autonomous-mcp is shutting down; the call was cancelled", {
        cause: error,
        details: { server: ctx.route.server },
      });
    }
    if (!spent.has(cancel)) return error;
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
    // Not async: the call settles through one `.then` (an async frame and its await cost more per call).
    function deadlineLayer(ctx): Promise<CallToolResult> {
      const { timeoutMs, totalTimeoutMs } = ctx.route.policy;
      const caller = ctx.cancel;
      const { cancel, unlink } = childOf(caller);
      budgets.set(cancel, totalTimeoutMs);
      if (shutdown?.aborted) cancel.abort(shutdown.reason);
      else live.add(cancel);
      ctx.attemptTimeoutMs = timeoutMs;
      ctx.deadlineAt = now() + totalTimeoutMs;
      ctx.cancel = cancel;
      const done = (): void => {
        budgets.delete(cancel);
        unlink();
        live.delete(cancel);
      };
      return invoke(next, ctx).then(
        (result) => {
          done();
          return result;
        },
        (error: unknown) => {
          // Mapped before the clean-up, as it was read while the call's cancellation was still live.
          const mapped = failure(error, ctx, caller, cancel);
          done();
          throw mapped;
        },
      );
    };
}
