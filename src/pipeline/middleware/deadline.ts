import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../errors.js";
import { Deadlines } from "../deadlines.js";
import { follow } from "../../signals.js";
import type { CallContext, Middleware } from "../types.js";

/** The reason a followed call's signal aborts with when its total budget ran out. */
class BudgetSpent extends Error {
  constructor() {
    super("total budget spent");
  }
}

/**
 * A call in flight under the deadline layer. `controller` is set for a call that runs on a signal of
 * its own (its caller's signal is shared with another call in flight); `end` for one that runs on its
 * caller's signal (the usual case): it settles the call early at the budget or at shutdown.
 */
interface Live {
  readonly ctx: CallContext;
  readonly controller: AbortController | undefined;
  end: ((error: unknown) => void) | undefined;
}

/**
 * One cancellation for the whole call: the caller's signal, the tool's total budget and the aggregator's
 * shutdown (docs/adr/0018). The per-attempt timeout is applied by forward (and restarted by progress).
 *
 * **The usual call runs on its caller's own signal** (the SDK's per-request signal of a front request, a
 * cache flight's): no second AbortController and no listener of ours per call, which cost more than
 * every layer of the pipeline together (docs/PERFORMANCE.md). The budget is then kept by the waits
 * inside, each bounded by ctx.deadlineAt (the downstream request's `maxTotalTimeout`: the SDK's own
 * timer; a limiter queue wait; retry sleeps; a reconnect wait), and the call is settled here at the
 * budget or at shutdown without waiting for them; `ctx.stopped` then tells forward and retry to start
 * nothing more.
 *
 * **A call whose caller's signal is already used by another call in flight** (a workflow's steps share
 * their run's) gets a controller of its own that follows the caller's signal through signals.ts `follow`
 * (one listener per caller signal whatever the number of calls under it) and is aborted at the budget
 * and at shutdown, so a shared signal never collects one SDK listener per call.
 *
 * Shutdown ends every call in flight from one listener on the shutdown signal, added once; every call's
 * total budget is on one timer (deadlines.ts, docs/adr/0010).
 */
export function createDeadlineLayer(now: () => number = Date.now, shutdown?: AbortSignal): Middleware {
  const live = new Set<Live>();
  /** Caller signals a call in flight runs on directly: a second call under one of them follows it. */
  const direct = new WeakSet<AbortSignal>();
  const shuttingDown = (ctx: CallContext, cause: unknown): AggregatorError =>
    new AggregatorError("CANCELLED", "autonomous-mcp is shutting down; the call was cancelled", {
      cause,
      details: { server: ctx.route.server },
    });
  shutdown?.addEventListener(
    "abort",
    () => {
      for (const call of [...live]) {
        if (call.controller) call.controller.abort(shutdown.reason);
        else stop(call, shuttingDown(call.ctx, shutdown.reason));
      }
    },
    { once: true },
  );
  const budgetError = (ctx: CallContext, cause: unknown): AggregatorError => {
    const totalTimeoutMs = ctx.route.policy.totalTimeoutMs;
    return new AggregatorError(
      "DOWNSTREAM_TIMEOUT",
      `${ctx.route.server} did not finish ${ctx.route.originalName} within its total budget of ${totalTimeoutMs} ms (totalTimeoutMs)`,
      {
        cause,
        details: {
          server: ctx.route.server,
          tool: ctx.route.originalName,
          timeoutMs: totalTimeoutMs,
          total: true,
        },
      },
    );
  };
  /** A call on its caller's signal ended here (budget, shutdown): nothing more starts for it. */
  function stop(call: Live, error: AggregatorError): void {
    const end = call.end;
    if (!end) return;
    call.end = undefined;
    call.ctx.stopped = true;
    live.delete(call);
    budgets.delete(call);
    end(error);
  }
  const budgets = new Deadlines<Live>((call) => {
    if (call.controller) call.controller.abort(new BudgetSpent());
    else stop(call, budgetError(call.ctx, new BudgetSpent()));
  });
  const cancelled = (ctx: CallContext, cause: unknown): AggregatorError =>
    new AggregatorError("CANCELLED", "the call was cancelled", {
      cause,
      details: { server: ctx.route.server },
    });
  /** The failure a caller sees: CANCELLED at shutdown, DOWNSTREAM_TIMEOUT when the total budget ran out. */
  const failure = (error: unknown, ctx: CallContext, caller: AbortSignal, own?: AbortSignal): unknown => {
    if (caller.aborted || !isAggregatorError(error, "CANCELLED")) return error;
    if (shutdown?.aborted) return shuttingDown(ctx, error);
    const spent = own ? own.reason instanceof BudgetSpent : now() >= ctx.deadlineAt;
    return spent ? budgetError(ctx, error) : error;
  };
  const begin = (ctx: CallContext, controller: AbortController | undefined): Live => {
    const { timeoutMs, totalTimeoutMs } = ctx.route.policy;
    const call: Live = { ctx, controller, end: undefined };
    live.add(call);
    budgets.set(call, totalTimeoutMs);
    ctx.attemptTimeoutMs = timeoutMs;
    ctx.deadlineAt = now() + totalTimeoutMs;
    return call;
  };
  const finish = (call: Live): void => {
    budgets.delete(call);
    live.delete(call);
  };

  return (next) => {
    /** The usual call: on its caller's signal; settled here at the budget or shutdown (see above). */
    function onCallerSignal(ctx: CallContext, caller: AbortSignal): Promise<CallToolResult> {
      direct.add(caller);
      return new Promise<CallToolResult>((resolve, reject) => {
        const call = begin(ctx, undefined);
        call.end = reject;
        let inner: Promise<CallToolResult>;
        try {
          inner = next(ctx);
        } catch (error) {
          inner = Promise.reject(error);
        }
        inner.then(
          (result) => {
            direct.delete(caller);
            if (call.end === undefined) return;
            finish(call);
            resolve(result);
          },
          (error: unknown) => {
            direct.delete(caller);
            if (call.end === undefined) return;
            finish(call);
            reject(failure(error, ctx, caller));
          },
        );
      });
    }

    /** A call under a caller signal another call in flight runs on: a controller of its own. */
    async function onOwnSignal(ctx: CallContext, caller: AbortSignal): Promise<CallToolResult> {
      const controller = new AbortController();
      const unfollow = follow(caller, controller);
      const own = controller.signal;
      const call = begin(ctx, controller);
      ctx.signal = own;
      try {
        return await next(ctx);
      } catch (error) {
        // Mapped before the clean-up, while the call's signal still says why it aborted.
        throw failure(error, ctx, caller, own);
      } finally {
        finish(call);
        unfollow();
      }
    }

    return function deadlineLayer(ctx): Promise<CallToolResult> {
      const caller = ctx.signal;
      // Cancelled before it started (by the caller or shutdown): nothing goes further in.
      if (caller.aborted) return Promise.reject(failure(cancelled(ctx, caller.reason), ctx, caller));
      if (shutdown?.aborted) return Promise.reject(shuttingDown(ctx, shutdown.reason));
      return direct.has(caller) ? onOwnSignal(ctx, caller) : onCallerSignal(ctx, caller);
    };
  };
}
