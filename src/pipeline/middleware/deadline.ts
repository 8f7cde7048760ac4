import { AggregatorError, isAggregatorError } from "../../errors.js";
import type { Middleware } from "../types.js";

/**
 * One AbortSignal for the whole call: the caller's cancellation, the tool's total budget and the
 * aggregator's shutdown. The per-attempt timeout is applied by forward (and restarted by progress).
 *
 * Not AbortSignal.any: a composite of a long-lived signal (shutdown) stays reachable from it, and the
 * SDK never removes the abort listener it adds for each request, so every call would be kept in
 * memory until shutdown (measured: +740 MB over 100,000 calls). Here the listeners are removed when
 * the call ends.
 */
export function createDeadlineLayer(now: () => number = Date.now, shutdown?: AbortSignal): Middleware {
  return (next) =>
    async function deadlineLayer(ctx) {
      const { timeoutMs, totalTimeoutMs } = ctx.route.policy;
      const callerSignal = ctx.signal;
      const controller = new AbortController();
      let budgetSpent = false;
      const timer = setTimeout(() => {
        budgetSpent = true;
        controller.abort(new Error("total budget spent"));
      }, totalTimeoutMs);
      const onCaller = (): void => controller.abort(callerSignal.reason);
      const onShutdown = (): void => controller.abort(shutdown?.reason);
      if (callerSignal.aborted) onCaller();
      else callerSignal.addEventListener("abort", onCaller, { once: true });
      if (shutdown?.aborted) onShutdown();
      else shutdown?.addEventListener("abort", onShutdown, { once: true });
      ctx.attemptTimeoutMs = timeoutMs;
      ctx.deadlineAt = now() + totalTimeoutMs;
      ctx.signal = controller.signal;
      try {
        return await next(ctx);
      } catch (error) {
        if (shutdown?.aborted && !callerSignal.aborted && isAggregatorError(error, "CANCELLED")) {
          throw new AggregatorError("CANCELLED", "autonomous-mcp is shutting down; the call was cancelled", {
            cause: error,
            details: { server: ctx.route.server },
          });
        }
        if (budgetSpent && !callerSignal.aborted && isAggregatorError(error, "CANCELLED")) {
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
        callerSignal.removeEventListener("abort", onCaller);
        shutdown?.removeEventListener("abort", onShutdown);
      }
    };
}
