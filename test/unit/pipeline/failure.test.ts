import { SdkError, SdkErrorCode } from "@modelcontextprotocol/server";
import { describe, expect, it, vi, afterEach } from "vitest";
import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { countsForBreaker, isClientFault, isTransportFailure } from "../../../src/pipeline/failure.js";
import { createDeadlineLayer } from "../../../src/pipeline/middleware/deadline.js";
import { createRetryLayer } from "../../../src/pipeline/middleware/retry.js";
import type { CallContext } from "../../../src/pipeline/types.js";
import { makeCtx, makeRoute, unavailable } from "../../helpers/pipeline.js";

describe("failure classification", () => {
  const rpc = (code: number) => new ProtocolError(code, "x");
  const local = (code: ConstructorParameters<typeof AggregatorError>[0]) => new AggregatorError(code, "x");

  it("transport failures", () => {
    expect(isTransportFailure(local("SERVER_UNAVAILABLE"))).toBe(true);
    expect(isTransportFailure(local("DOWNSTREAM_TIMEOUT"))).toBe(true);
    expect(isTransportFailure(new SdkError(SdkErrorCode.RequestTimeout, "sdk"))).toBe(true);
    // A -32000 that reaches the pipeline is a live server's answer: a lost link is SERVER_UNAVAILABLE
    // (classify.ts decides from the link, not from the code).
    for (const e of [
      rpc(-32000),
      local("INVALID_RESULT"),
      local("CANCELLED"),
      local("BREAKER_OPEN"),
      rpc(ProtocolErrorCode.InternalError),
      new Error("x"),
      "str",
    ]) {
      expect(isTransportFailure(e)).toBe(false);
    }
  });

  it("client faults", () => {
    expect(isClientFault(rpc(ProtocolErrorCode.InvalidParams))).toBe(true);
    expect(isClientFault(rpc(ProtocolErrorCode.MethodNotFound))).toBe(true);
    expect(isClientFault(local("INVALID_ARGUMENTS"))).toBe(true);
    expect(isClientFault(local("UNKNOWN_TOOL"))).toBe(true);
    expect(isClientFault(rpc(ProtocolErrorCode.InternalError))).toBe(false);
    expect(isClientFault(local("SERVER_UNAVAILABLE"))).toBe(false);
  });

  it("what counts for the breaker", () => {
    expect(countsForBreaker(local("SERVER_UNAVAILABLE"))).toBe(true);
    expect(countsForBreaker(local("DOWNSTREAM_TIMEOUT"))).toBe(true);
    expect(countsForBreaker(new Error("EPIPE"))).toBe(true);
    for (const e of [
      rpc(-32000),
      local("INVALID_RESULT"),
      rpc(ProtocolErrorCode.InvalidParams),
      rpc(ProtocolErrorCode.InternalError),
      local("CANCELLED"),
      local("BREAKER_OPEN"),
      local("SERVER_BUSY"),
      local("INVALID_ARGUMENTS"),
    ]) {
      expect(countsForBreaker(e)).toBe(false);
    }
  });
});

describe("deadline + retry", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("retries inside the total budget and stops before a backoff would cross it", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const next = async () => {
      calls++;
      throw unavailable();
    };
    const retry = createRetryLayer(
      () => ({ retries: 5, minTimeoutMs: 100, maxTimeoutMs: 1000, factor: 1, randomize: false }),
      () => false,
    );
    const h = compose([createDeadlineLayer(), retry], next);
    const route = makeRoute({ readOnly: true, timeoutMs: 100, totalTimeoutMs: 250 });
    const result = h(makeCtx(route)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(isAggregatorError(await result, "SERVER_UNAVAILABLE")).toBe(true);
    expect(calls).toBe(3); // at 0, 100, 200; a retry at 300 would be past 250
  });

  it("an attempt still running when the total budget ends surfaces as DOWNSTREAM_TIMEOUT", async () => {
    vi.useFakeTimers();
    const hang = (ctx: CallContext) =>
      new Promise<never>((_, reject) => {
        ctx.signal.addEventListener("abort", () =>
          reject(new AggregatorError("CANCELLED", "the call was cancelled")),
        );
      });
    const retry = createRetryLayer(
      () => ({ retries: 5, minTimeoutMs: 100, maxTimeoutMs: 1000, factor: 1, randomize: false }),
      () => false,
    );
    const h = compose([createDeadlineLayer(), retry], hang);
    const result = h(makeCtx(makeRoute({ readOnly: true, timeoutMs: 300, totalTimeoutMs: 300 }))).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(isAggregatorError(await result, "DOWNSTREAM_TIMEOUT")).toBe(true);
  });
});
