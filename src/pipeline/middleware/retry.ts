import pRetry, { type RetryContext } from "p-retry";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../errors.js";
import { formatWait } from "../../downstream/retryAfter.js";
import { isTransportFailure } from "../failure.js";
import { onAbort } from "../../signals.js";
import type { RetrySettings } from "../settings.js";
import type { CallContext, Middleware } from "../types.js";

/** Longest backoff p-retry may sleep before the retry after `retriesConsumed` retries (randomize doubles at most). */
export function maxBackoffMs(s: RetrySettings, retriesConsumed: number): number {
  const base = s.minTimeoutMs * s.factor ** retriesConsumed;
  return Math.min(s.maxTimeoutMs, Math.round((s.randomize ? 2 : 1) * base));
}

/**
 * A transport failure of a tool that may not be sent twice: say so, because the call may or may not have
 * run (a write the server recorded just before it died) and the caller must not blindly call it again.
 */
function notRetried(error: unknown, ctx: CallContext): unknown {
  if (!isAggregatorError(error) || !isTransportFailure(error)) return error;
  return new AggregatorError(
    error.code,
    `${error.message}; not retried because ${ctx.route.originalName} is neither read-only nor idempotent, so it may or may not have taken effect: check before calling it again`,
    { cause: error, details: { ...error.details, retried: false } },
  );
}

/** The wait a remote server asked for (HTTP 429/503 Retry-After, classify.ts), if any. */
function retryAfterOf(error: unknown): number | undefined {
  if (!isAggregatorError(error)) return undefined;
  const ms = error.details["retryAfterMs"];
  return typeof ms === "number" && ms >= 0 ? ms : undefined;
}

/** Sleeps ms unless the call is cancelled first (then resolves early: the caller checks ctx.signal). */
function pause(ms: number, ctx: CallContext): Promise<void> {
  return new Promise((resolve) => {
    const stop = onAbort(ctx.signal, () => {
      clearTimeout(timer);
      resolve();
    });
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
  });
}

/**
 * Retries transport failures (SERVER_UNAVAILABLE, DOWNSTREAM_TIMEOUT) of retry-safe tools with p-retry.
 * A failure that carries the server's Retry-After (HTTP 429/503) waits exactly that long instead of the
 * backoff, still spending one retry; when the wait would cross the call's deadline, the call fails at once
 * with an error naming the wait and the budget left.
 * Never retried: isError results (they are returns), JSON-RPC errors from the tool, CANCELLED, BREAKER_OPEN,
 * SERVER_BUSY. The backoff sleep ends at once when ctx.signal aborts (→ CANCELLED) and is never started when
 * it could cross ctx.deadlineAt (→ the last error). When a failure leaves the server's breaker open, the loop
 * goes once more without sleeping or spending a retry, so the breaker layer answers with its own
 * BREAKER_OPEN (next attempt time included) and no further attempt reaches the server.
 */
export function createRetryLayer(
  settingsFor: (server: string) => RetrySettings,
  isBreakerOpen: (server: string) => boolean,
  now: () => number = Date.now,
): Middleware {
  return (next) => {
    /** Attempts 2… after a failed first attempt: p-retry, with the first failure as its attempt 1. */
    async function retryAfter(
      firstError: unknown,
      ctx: CallContext,
      s: RetrySettings,
    ): Promise<CallToolResult> {
      const server = ctx.route.server;
      let breakerPass = false;
      let sleeping = true;
      /** Retry-After of the failure being decided on; those retries p-retry neither sleeps nor counts. */
      let told: number | undefined;
      let toldRetries = 0;
      const shouldConsumeRetry = ({ error }: RetryContext): boolean => {
        // One free, immediate pass when the breaker just opened: it fails fast in the breaker layer.
        sleeping = breakerPass || !isTransportFailure(error) || !isBreakerOpen(server);
        if (!sleeping) breakerPass = true;
        told = sleeping ? retryAfterOf(error) : undefined;
        if (told !== undefined) sleeping = false;
        return sleeping;
      };
      const waitAsTold = async (wait: number, error: unknown, retriesConsumed: number): Promise<boolean> => {
        if (retriesConsumed + toldRetries >= s.retries) return false;
        const deadlineAt = ctx.deadlineAt;
        const left = deadlineAt > 0 && Number.isFinite(deadlineAt) ? deadlineAt - now() : Infinity;
        if (wait >= left) {
          throw new AggregatorError(
            "SERVER_UNAVAILABLE",
            `${(error as Error).message}; not retried: ${server} asked to wait ${formatWait(wait)} (Retry-After) but only ${formatWait(Math.max(0, left))} of the call's budget (totalTimeoutMs) is left`,
            { cause: error, details: { ...(error as AggregatorError).details, retried: false } },
          );
        }
        ctx.log.debug(
          { attempt: ctx.attempts, retryAfterMs: wait },
          "retrying when the server said (Retry-After)",
        );
        toldRetries++;
        await pause(wait, ctx);
        if (ctx.signal.aborted)
          throw new AggregatorError("CANCELLED", "the call was cancelled", {
            cause: ctx.signal.reason,
            details: { server },
          });
        return true;
      };
      const shouldRetry = ({ error, retriesConsumed }: RetryContext): boolean | Promise<boolean> => {
        if (ctx.signal.aborted || !isTransportFailure(error)) return false;
        if (told !== undefined) return waitAsTold(told, error, retriesConsumed);
        const wait = sleeping ? maxBackoffMs(s, retriesConsumed) : 0;
        const deadlineAt = ctx.deadlineAt;
        if (deadlineAt > 0 && Number.isFinite(deadlineAt) && now() + wait >= deadlineAt) return false;
        ctx.log.debug(
          { attempt: ctx.attempts, maxWaitMs: wait, err: (error as Error).message },
          "retrying after transport failure",
        );
        return true;
      };

      try {
        return await pRetry(
          (attempt) => {
            if (attempt === 1) return Promise.reject(firstError as Error);
            ctx.attempts = attempt;
            return next(ctx);
          },
          {
            retries: s.retries,
            factor: s.factor,
            minTimeout: s.minTimeoutMs,
            maxTimeout: s.maxTimeoutMs,
            randomize: s.randomize,
            maxRetryTime: Number.POSITIVE_INFINITY,
            unref: false,
            signal: ctx.signal,
            shouldConsumeRetry,
            shouldRetry,
          },
        );
      } catch (error) {
        // p-retry rejects with signal.reason when the signal aborts between attempts or during a sleep.
        if (ctx.signal.aborted && error === ctx.signal.reason && !isAggregatorError(error)) {
          throw new AggregatorError("CANCELLED", "the call was cancelled", {
            cause: error,
            details: { server },
          });
        }
        throw error;
      }
    }

    // p-retry is set up only after the first attempt failed (the usual call succeeds at once).
    return async function retryLayer(ctx): Promise<CallToolResult> {
      ctx.attempts = 1;
      try {
        return await next(ctx);
      } catch (error) {
        if (!ctx.route.policy.retrySafe) throw notRetried(error, ctx);
        const s = settingsFor(ctx.route.server);
        if (s.retries <= 0) throw error;
        return await retryAfter(error, ctx, s);
      }
    };
  };
}
