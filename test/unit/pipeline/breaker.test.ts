import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import {
  BreakerRegistry,
  createBreakerLayer,
  LATENCY_TRIM_EVERY,
  type BreakerState,
} from "../../../src/pipeline/middleware/breaker.js";
import { createRetryLayer } from "../../../src/pipeline/middleware/retry.js";
import type { BreakerSettings } from "../../../src/pipeline/settings.js";
import type { Handler } from "../../../src/pipeline/types.js";
import {
  deferred,
  flush,
  makeCtx,
  makeRoute,
  scripted,
  textResult,
  unavailable,
} from "../../helpers/pipeline.js";

const settings: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 4,
  rollingCountTimeoutMs: 60_000,
  resetTimeoutMs: 30_000,
};

const route = makeRoute({ server: "github", tool: "get_issue", readOnly: true });

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("breaker", () => {
  let registry: BreakerRegistry;
  let changes: Array<[string, BreakerState]>;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    changes = [];
    registry = new BreakerRegistry(() => settings, {
      onStateChange: (server, state) => changes.push([server, state]),
    });
  });
  afterEach(() => {
    registry.shutdown();
    vi.useRealTimers();
  });

  it("opens at the threshold and then fails fast naming the server, the last error and the retry time", async () => {
    const next = scripted([unavailable("github")]);
    const handler = compose([createBreakerLayer(registry)], next);
    // volumeThreshold 4: three failures are not enough volume
    for (let i = 0; i < 3; i++) await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("closed");
    await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("open");
    expect(changes).toEqual([["github", "open"]]);
    expect(registry.retryAt("github")).toBe(Date.parse("2026-01-01T00:00:30Z"));

    vi.advanceTimersByTime(5_000);
    const err = await failure(handler(makeCtx(route)));
    expect(next.calls).toBe(4);
    expect(isAggregatorError(err, "BREAKER_OPEN")).toBe(true);
    expect((err as Error).message).toBe(
      "github is unavailable (circuit open after 4 failures: github: connection closed); next attempt at 2026-01-01T00:00:30.000Z (in 25s)",
    );
    expect((err as AggregatorError).details).toMatchObject({
      server: "github",
      retryAt: Date.parse("2026-01-01T00:00:30Z"),
    });
  });

  it("opens only when the failure rate is ABOVE errorThresholdPercentage", async () => {
    const next = scripted([
      textResult("ok"),
      unavailable("github"),
      textResult("ok"),
      unavailable("github"),
      unavailable("github"),
    ]);
    const handler = compose([createBreakerLayer(registry)], next);
    for (let i = 0; i < 4; i++) await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("closed"); // 2 failures of 4 calls: 50 %, not above
    await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("open"); // 3 of 5: 60 %
  });

  it("half-opens after resetTimeout, lets exactly one probe through, and a successful probe closes it", async () => {
    const handler = compose([createBreakerLayer(registry)], scripted([unavailable("github")]));
    for (let i = 0; i < 4; i++) await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("open");

    vi.advanceTimersByTime(30_000);
    expect(registry.stateOf("github")).toBe("halfOpen");

    const probe = deferred<ReturnType<typeof textResult>>();
    let probeCalls = 0;
    const probing = compose([createBreakerLayer(registry)], () => {
      probeCalls++;
      return probe.promise;
    });
    const first = probing(makeCtx(route));
    const second = await failure(probing(makeCtx(route)));
    expect(probeCalls).toBe(1);
    expect(isAggregatorError(second, "BREAKER_OPEN")).toBe(true);
    expect((second as Error).message).toContain("a probe call is in flight");

    probe.resolve(textResult("alive"));
    expect(await first).toEqual(textResult("alive"));
    expect(registry.stateOf("github")).toBe("closed");
    expect(changes.map(([, s]) => s)).toEqual(["open", "halfOpen", "closed"]);
  });

  it("a failed probe re-opens it for another resetTimeout", async () => {
    const handler = compose([createBreakerLayer(registry)], scripted([unavailable("github")]));
    for (let i = 0; i < 4; i++) await failure(handler(makeCtx(route)));
    vi.advanceTimersByTime(30_000);
    await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("open");
    expect(registry.retryAt("github")).toBe(Date.now() + 30_000);
  });

  it("does not count client faults, CANCELLED or isError results", async () => {
    const next = scripted([
      new ProtocolError(ProtocolErrorCode.InvalidParams, "bad"),
      new ProtocolError(ProtocolErrorCode.MethodNotFound, "no"),
      new AggregatorError("INVALID_ARGUMENTS", "bad"),
      new AggregatorError("CANCELLED", "cancelled"),
      new ProtocolError(ProtocolErrorCode.InternalError, "404 Not Found"),
      textResult("tool failed", true),
    ]);
    const handler = compose([createBreakerLayer(registry)], next);
    for (let i = 0; i < 10; i++) await failure(handler(makeCtx(route)));
    expect(next.calls).toBe(10);
    expect(registry.stateOf("github")).toBe("closed");
  });

  it("counts a CANCELLED that comes after the call's deadline (the total budget ran out)", async () => {
    const handler = compose(
      [createBreakerLayer(registry)],
      scripted([new AggregatorError("CANCELLED", "cancelled")]),
    );
    for (let i = 0; i < 4; i++)
      await failure(handler(makeCtx(route, {}, undefined, { deadlineAt: Date.now() })));
    expect(registry.stateOf("github")).toBe("open");
  });

  it("retry outside breaker: attempts stop when the breaker opens and its error propagates", async () => {
    const next = scripted([unavailable("github")]);
    const retry = createRetryLayer(
      () => ({ retries: 10, minTimeoutMs: 100, maxTimeoutMs: 100, factor: 1, randomize: false }),
      (server) => registry.stateOf(server) === "open",
    );
    const handler = compose([retry, createBreakerLayer(registry)], next);
    const ctx = makeCtx(route);
    const result = failure(handler(ctx));
    await vi.advanceTimersByTimeAsync(1_000);
    const err = await result;
    expect(isAggregatorError(err, "BREAKER_OPEN")).toBe(true);
    expect(next.calls).toBe(4); // the 4th failure opened it; nothing more reached the server
    expect(ctx.attempts).toBe(5);
  });

  it("forceOpen stays open past resetTimeout until reset()", async () => {
    const next: Handler & { calls: number } = scripted([textResult("ok")]);
    const handler = compose([createBreakerLayer(registry)], next);
    registry.forceOpen("github", "restart budget spent (5 restarts in 60s)");
    expect(registry.stateOf("github")).toBe("open");
    vi.advanceTimersByTime(10 * 60_000);
    const err = await failure(handler(makeCtx(route)));
    expect((err as Error).message).toBe(
      "github is unavailable (marked failed: restart budget spent (5 restarts in 60s))",
    );
    expect(registry.retryAt("github")).toBeUndefined();
    expect(next.calls).toBe(0);

    registry.reset("github");
    expect(registry.stateOf("github")).toBe("closed");
    expect(await handler(makeCtx(route))).toEqual(textResult("ok"));
    expect(changes).toEqual([
      ["github", "open"],
      ["github", "closed"],
    ]);
  });

  it("recordFailure feeds health-check failures into the breaker", async () => {
    for (let i = 0; i < 4; i++) registry.recordFailure("github", new Error("ping timed out"));
    await flush();
    expect(registry.stateOf("github")).toBe("open");
    const err = await failure(
      compose([createBreakerLayer(registry)], scripted([textResult("ok")]))(makeCtx(route)),
    );
    expect((err as Error).message).toContain("ping timed out");
  });

  it("keeps one breaker per server", async () => {
    const handler = compose([createBreakerLayer(registry)], scripted([unavailable("github")]));
    for (let i = 0; i < 4; i++) await failure(handler(makeCtx(route)));
    expect(registry.stateOf("github")).toBe("open");
    expect(registry.stateOf("memory")).toBe("closed");
    const ok = compose([createBreakerLayer(registry)], scripted([textResult("ok")]));
    expect(await ok(makeCtx(makeRoute({ server: "memory" })))).toEqual(textResult("ok"));
  });

  it("keeps opossum's per-call latency lists bounded while counting every call (percentiles are off)", async () => {
    const handler = compose([createBreakerLayer(registry)], () => Promise.resolve(textResult("ok")));
    const listed = (): number =>
      registry.get("github").status.window.reduce((n, bucket) => n + bucket.latencyTimes.length, 0);
    const calls = 3 * LATENCY_TRIM_EVERY + 10;
    let most = 0;
    for (let i = 0; i < calls; i++) {
      await handler(makeCtx(route));
      if (i % 64 === 0) most = Math.max(most, listed());
    }
    // opossum 9 appends one number per call: without the trim the list would hold all of them.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(LATENCY_TRIM_EVERY);
    expect(listed()).toBeLessThanOrEqual(LATENCY_TRIM_EVERY);
    expect(registry.get("github").status.stats.successes).toBe(calls);
    // The counts the breaker decides on are intact.
    const failing = compose([createBreakerLayer(registry)], scripted([unavailable("github")]));
    for (let i = 0; i < 5; i++) await failure(failing(makeCtx(route)));
    expect(registry.get("github").status.stats.failures).toBe(5);
    expect(registry.get("github").status.stats.successes).toBe(calls);
  });

  it("shutdown clears opossum's timers", async () => {
    const handler = compose([createBreakerLayer(registry)], scripted([unavailable("github")]));
    for (let i = 0; i < 4; i++) await failure(handler(makeCtx(route)));
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    registry.shutdown();
    expect(vi.getTimerCount()).toBe(0);
  });
});
