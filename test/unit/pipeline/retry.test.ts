import { SdkError, SdkErrorCode } from "@modelcontextprotocol/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { createRetryLayer, maxBackoffMs } from "../../../src/pipeline/middleware/retry.js";
import type { RetrySettings } from "../../../src/pipeline/settings.js";
import {
  flush,
  makeCtx,
  makeRoute,
  scripted,
  textResult,
  timedOut,
  unavailable,
} from "../../helpers/pipeline.js";

const settings: RetrySettings = {
  retries: 2,
  minTimeoutMs: 100,
  maxTimeoutMs: 1000,
  factor: 2,
  randomize: false,
};

function pipeline(
  next: Parameters<typeof compose>[1],
  s: RetrySettings = settings,
  breakerOpen = () => false,
) {
  return compose([createRetryLayer(() => s, breakerOpen)], next);
}

async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe("retry layer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("retries transport failures of a read-only tool: 2 retries → 3 attempts, with backoff", async () => {
    const next = scripted([unavailable(), timedOut(), textResult("third time")]);
    const ctx = makeCtx(makeRoute({ readOnly: true }));
    const p = pipeline(next)(ctx);
    await flush();
    expect(next.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(next.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(next.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(200); // factor 2
    expect(await p).toEqual(textResult("third time"));
    expect(next.calls).toBe(3);
    expect(ctx.attempts).toBe(3);
  });

  it("gives up after the configured retries with the last error", async () => {
    const next = scripted([unavailable(), unavailable(), timedOut()]);
    const p = settle(pipeline(next)(makeCtx(makeRoute({ readOnly: true }))));
    await vi.advanceTimersByTimeAsync(1000);
    const { error } = await p;
    expect(isAggregatorError(error, "DOWNSTREAM_TIMEOUT")).toBe(true);
    expect(next.calls).toBe(3);
  });

  it("calls next exactly once for a write (not retry-safe)", async () => {
    const next = scripted([unavailable(), textResult("never")]);
    const ctx = makeCtx(makeRoute({ readOnly: false, idempotent: false }));
    const { error } = await settle(pipeline(next)(ctx));
    expect(isAggregatorError(error, "SERVER_UNAVAILABLE")).toBe(true);
    expect(next.calls).toBe(1);
    expect(ctx.attempts).toBe(1);
  });

  it("retries an idempotent write", async () => {
    const next = scripted([unavailable(), textResult("ok")]);
    const p = pipeline(next)(makeCtx(makeRoute({ readOnly: false, idempotent: true })));
    await vi.advanceTimersByTimeAsync(100);
    expect(await p).toEqual(textResult("ok"));
    expect(next.calls).toBe(2);
  });

  it("never retries an isError result, a JSON-RPC error, CANCELLED or BREAKER_OPEN", async () => {
    const isError = scripted([textResult("tool failed", true), textResult("ok")]);
    expect((await pipeline(isError)(makeCtx(makeRoute({ readOnly: true })))).isError).toBe(true);
    expect(isError.calls).toBe(1);

    for (const err of [
      new ProtocolError(ProtocolErrorCode.InternalError, "boom"),
      new ProtocolError(ProtocolErrorCode.InvalidParams, "bad"),
      new AggregatorError("CANCELLED", "cancelled"),
      new AggregatorError("BREAKER_OPEN", "open"),
      new AggregatorError("SERVER_BUSY", "busy"),
    ]) {
      const next = scripted([err, textResult("ok")]);
      const { error } = await settle(pipeline(next)(makeCtx(makeRoute({ readOnly: true }))));
      expect(error).toBe(err);
      expect(next.calls).toBe(1);
    }
  });

  it("treats an SDK RequestTimeout ProtocolError as a transport failure", async () => {
    const next = scripted([new SdkError(SdkErrorCode.RequestTimeout, "t"), textResult("ok")]);
    const p = pipeline(next)(makeCtx(makeRoute({ readOnly: true })));
    await vi.advanceTimersByTimeAsync(300);
    expect(await p).toEqual(textResult("ok"));
    expect(next.calls).toBe(2);
  });

  it("does not retry a -32000 ProtocolError: it is a live server's answer, not a lost link", async () => {
    const err = new SdkError(SdkErrorCode.ConnectionClosed, "server said -32000");
    const next = scripted([err, textResult("never")]);
    const p = settle(pipeline(next)(makeCtx(makeRoute({ readOnly: true }))));
    await vi.advanceTimersByTimeAsync(300);
    expect((await p).error).toBe(err);
    expect(next.calls).toBe(1);
  });

  it("ends the backoff sleep at once with CANCELLED when the signal aborts", async () => {
    const next = scripted([unavailable(), textResult("never")]);
    const ac = new AbortController();
    const p = settle(
      pipeline(next, { ...settings, minTimeoutMs: 60_000, maxTimeoutMs: 60_000 })(
        makeCtx(makeRoute({ readOnly: true }), {}, ac.signal),
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    ac.abort(new Error("client cancelled"));
    const { error } = await p; // no timer advance needed
    expect(isAggregatorError(error, "CANCELLED")).toBe(true);
    expect((error as Error).cause).toEqual(new Error("client cancelled"));
    expect(next.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not start a backoff that would cross the deadline; throws the last error", async () => {
    const next = scripted([unavailable(), timedOut(), textResult("late")]);
    const ctx = makeCtx(makeRoute({ readOnly: true }), {}, undefined, { deadlineAt: Date.now() + 250 });
    const p = settle(pipeline(next)(ctx));
    await vi.advanceTimersByTimeAsync(100); // first backoff (100) fits; the second (200) would end at 300 > 250
    const { error } = await p;
    expect(isAggregatorError(error, "DOWNSTREAM_TIMEOUT")).toBe(true);
    expect(next.calls).toBe(2);
  });

  it("uses the worst-case randomized backoff for the deadline check", () => {
    expect(maxBackoffMs(settings, 0)).toBe(100);
    expect(maxBackoffMs({ ...settings, randomize: true }, 1)).toBe(400);
    expect(maxBackoffMs(settings, 10)).toBe(1000);
  });

  it("does not sleep when the breaker opened: one free pass lets the breaker answer", async () => {
    let open = false;
    const breakerError = new AggregatorError("BREAKER_OPEN", "srv is unavailable");
    let calls = 0;
    const next = async () => {
      calls++;
      if (open) throw breakerError;
      open = true; // this failure trips the breaker
      throw unavailable();
    };
    const { error } = await settle(
      pipeline(next, settings, () => open)(makeCtx(makeRoute({ readOnly: true }))),
    );
    expect(error).toBe(breakerError);
    expect(calls).toBe(2);
  });

  it("stops a retry-safe call with zero retries after one attempt", async () => {
    const next = scripted([unavailable()]);
    await settle(pipeline(next, { ...settings, retries: 0 })(makeCtx(makeRoute({ readOnly: true }))));
    expect(next.calls).toBe(1);
  });
});
