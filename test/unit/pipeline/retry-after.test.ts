import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { createRetryLayer } from "../../../src/pipeline/middleware/retry.js";
import type { RetrySettings } from "../../../src/pipeline/settings.js";
import { parseRetryAfter } from "../../../src/downstream/retryAfter.js";
import { flush, makeCtx, makeRoute, scripted, textResult } from "../../helpers/pipeline.js";

const settings: RetrySettings = {
  retries: 2,
  minTimeoutMs: 100,
  maxTimeoutMs: 1000,
  factor: 2,
  randomize: false,
};

/** What classify.ts makes of an HTTP 429 with Retry-After. */
function tooMany(retryAfterMs: number): AggregatorError {
  return new AggregatorError("SERVER_UNAVAILABLE", "srv: tools/call was refused: HTTP 429: slow down", {
    details: { server: "srv", httpStatus: 429, retryAfterMs },
  });
}

const pipeline = (next: Parameters<typeof compose>[1], breakerOpen = () => false) =>
  compose([createRetryLayer(() => settings, breakerOpen)], next);

async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe("retry layer: Retry-After", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits exactly the Retry-After (not the 100 ms backoff) before the next attempt", async () => {
    const next = scripted([tooMany(5_000), textResult("served")]);
    const p = pipeline(next)(makeCtx(makeRoute({ readOnly: true })));
    await flush();
    expect(next.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(next.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toEqual(textResult("served"));
    expect(next.calls).toBe(2);
  });

  it("a Retry-After beyond the call's deadline fails at once, naming the wait and the budget left", async () => {
    const next = scripted([tooMany(120_000), textResult("never")]);
    const ctx = makeCtx(makeRoute({ readOnly: true }), {}, undefined, { deadlineAt: Date.now() + 30_000 });
    const { error } = await settle(pipeline(next)(ctx));
    expect(isAggregatorError(error, "SERVER_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toBe(
      "srv: tools/call was refused: HTTP 429: slow down; not retried: srv asked to wait 120 s (Retry-After) but only 30 s of the call's budget (totalTimeoutMs) is left",
    );
    expect((error as AggregatorError).details).toMatchObject({ retryAfterMs: 120_000, retried: false });
    expect(next.calls).toBe(1);
  });

  it("each wait spends one retry: 2 retries → 3 attempts, then the last refusal", async () => {
    const next = scripted([tooMany(1_000), tooMany(1_000), tooMany(1_000), textResult("never")]);
    const p = settle(pipeline(next)(makeCtx(makeRoute({ readOnly: true }))));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(next.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000);
    const { error } = await p;
    expect(next.calls).toBe(3);
    expect((error as AggregatorError).details["retryAfterMs"]).toBe(1_000);
  });

  it("a cancel during the wait ends the call at once with CANCELLED", async () => {
    const next = scripted([tooMany(60_000), textResult("never")]);
    const ac = new AbortController();
    const p = settle(pipeline(next)(makeCtx(makeRoute({ readOnly: true }), {}, ac.signal)));
    await vi.advanceTimersByTimeAsync(10);
    ac.abort();
    const { error } = await p;
    expect(isAggregatorError(error, "CANCELLED")).toBe(true);
    expect(next.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a write (not retry-safe) is not retried, Retry-After or not", async () => {
    const next = scripted([tooMany(10), textResult("never")]);
    const { error } = await settle(
      pipeline(next)(makeCtx(makeRoute({ readOnly: false, idempotent: false }))),
    );
    expect(isAggregatorError(error, "SERVER_UNAVAILABLE")).toBe(true);
    expect(next.calls).toBe(1);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it.each([
    ["0", 0],
    ["7", 7_000],
    [" 120 ", 120_000],
    ["Thu, 01 Jan 2026 00:00:30 GMT", 30_000],
    ["Wed, 31 Dec 2025 23:59:00 GMT", 0], // in the past: at once
    ["99999999", 86_400_000], // capped at a day
  ])("%j → %d ms", (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
  it.each([null, undefined, "", "-1", "1.5", "soon", "12abc"])("%j → undefined", (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
