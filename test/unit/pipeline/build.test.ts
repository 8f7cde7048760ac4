import { afterEach, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../../../src/errors.js";
import { buildPipeline } from "../../../src/pipeline/build.js";
import { BreakerRegistry } from "../../../src/pipeline/middleware/breaker.js";
import { ResultCache } from "../../../src/pipeline/middleware/cache.js";
import { ServerLimiter } from "../../../src/pipeline/middleware/limit.js";
import { CallStats } from "../../../src/pipeline/middleware/observe.js";
import type { BreakerSettings, RetrySettings } from "../../../src/pipeline/settings.js";
import type { CallContext, Handler } from "../../../src/pipeline/types.js";
import { makeCtx, makeRoute, silentLogger, textResult, unavailable } from "../../helpers/pipeline.js";

const breakerSettings: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 4,
  rollingCountTimeoutMs: 60_000,
  resetTimeoutMs: 30_000,
};
const retrySettings: RetrySettings = {
  retries: 2,
  minTimeoutMs: 1,
  maxTimeoutMs: 2,
  factor: 1,
  randomize: false,
};

/** The shipped layer order in front of `forward`, with real parts (no layer is mocked). */
function pipeline(forward: Handler) {
  const stats = new CallStats();
  const breakers = new BreakerRegistry(() => breakerSettings);
  const limiter = new ServerLimiter({ server: "srv", maxConcurrency: 2, maxQueue: 0, serializeWrites: true });
  const handler = buildPipeline({
    log: silentLogger,
    stats,
    cache: new ResultCache(),
    breakers,
    limiterFor: () => limiter,
    retryFor: () => retrySettings,
    forward,
  });
  return { handler, stats, breakers, limiter };
}

let open: BreakerRegistry[] = [];
afterEach(() => {
  for (const b of open) b.shutdown();
  open = [];
});

// The layers are plain functions returning promises (one `.then` each, no async frame), so a layer or a
// downstream that throws synchronously must still come out as a rejection that every layer sees.
describe("the built pipeline", () => {
  it("turns a synchronous throw of the downstream call into a rejection: counted, slot released, breaker fed", async () => {
    const p = pipeline(() => {
      throw new Error("sync boom");
    });
    open.push(p.breakers);
    const route = makeRoute({ server: "srv", tool: "write", readOnly: false });
    let returned: Promise<CallToolResult> | undefined;
    expect(() => {
      returned = p.handler(makeCtx(route));
    }).not.toThrow();
    await expect(returned).rejects.toThrow("sync boom");
    expect(p.limiter.inFlight).toBe(0);
    const s = p.stats.snapshot("srv");
    expect(s?.calls).toBe(1);
    expect(s?.outcomes.rpc_error).toBe(1);
    expect(s?.lastError?.message).toBe("sync boom");
    expect(p.breakers.get("srv").stats.failures).toBe(1);
  });

  it("retries a retry-safe tool whose first attempt throws a transport failure synchronously", async () => {
    let calls = 0;
    const p = pipeline((ctx: CallContext) => {
      calls++;
      if (calls === 1) throw unavailable("srv");
      return Promise.resolve(textResult(`attempt ${ctx.attempts}`));
    });
    open.push(p.breakers);
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true });
    const result = await p.handler(makeCtx(route));
    expect(result.content).toEqual([{ type: "text", text: "attempt 2" }]);
    expect(calls).toBe(2);
    expect(p.limiter.inFlight).toBe(0);
    expect(p.stats.snapshot("srv")?.outcomes.ok).toBe(1);
  });

  it("says a write was not retried when its only attempt threw a transport failure synchronously", async () => {
    const p = pipeline(() => {
      throw unavailable("srv");
    });
    open.push(p.breakers);
    const route = makeRoute({ server: "srv", tool: "create", readOnly: false });
    const error = await p.handler(makeCtx(route)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAggregatorError(error, "SERVER_UNAVAILABLE")).toBe(true);
    expect(String((error as Error).message)).toMatch(/not retried because create is neither read-only/);
    expect(p.limiter.inFlight).toBe(0);
  });

  it("settles many concurrent calls with each its own result and every slot back", async () => {
    const p = pipeline((ctx: CallContext) =>
      Promise.resolve(textResult(String((ctx.args as { n: number }).n))),
    );
    open.push(p.breakers);
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true });
    // maxConcurrency 2 and no queue: run them in pairs.
    for (let n = 0; n < 20; n += 2) {
      const results = await Promise.all([n, n + 1].map((i) => p.handler(makeCtx(route, { n: i }))));
      expect(results.map((r) => (r.content?.[0] as { text: string }).text)).toEqual([
        String(n),
        String(n + 1),
      ]);
    }
    expect(p.limiter.inFlight).toBe(0);
    expect(p.stats.snapshot("srv")?.outcomes.ok).toBe(20);
  });
});
