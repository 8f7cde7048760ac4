import { AggregatorError, isAggregatorError } from "../../errors.js";
import type { Middleware } from "../types.js";

/**
 * One AbortSignal for the whole call: the caller's cancellation combined with the tool's total budget.
 * The per-attempt timeout is applied by forward (and restarted by downstream progress).
 */
export function createDeadlineLayer(now: () => number = Date.now, shutdown?: AbortSignal): Middleware {
  return (next) =>
    async function deadlineLayer(ctx) {
      const { timeoutMs, totalTimeoutMs } = ctx.route.policy;
      const total = new AbortController();
      const timer = setTimeout(() => total.abort(new Error("total budget spent")), totalTimeoutMs);
      const callerSignal = ctx.signal;
      ctx.attemptTimeoutMs = timeoutMs;
      ctx.deadlineAt = now() + totalTimeoutMs;
      ctx.signal = AbortSignal.any(
        shutdown ? [callerSignal, total.signal, shutdown] : [callerSignal, total.signal],
      );
      try {
        return await next(ctx);
      } catch (error) {
        if (shutdown?.aborted && !callerSignal.aborted && isAggregatorError(error, "CANCELLED")) {
          throw new AggregatorError("CANCELLED", "autonomous-mcp is shutting down; the call was cancelled", {
            cause: error,
            details: { server: ctx.route.server },
          });
        }
        if (total.signal.aborted && !callerSignal.aborted && isAggregatorError(error, "CANCELLED")) {
          throw new AggregatorError(
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
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    };
}
