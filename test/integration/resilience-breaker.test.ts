import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { waitFor } from "../helpers/aggregator.js";
import {
  expectOk,
  expectToolError,
  fault,
  running,
  sleep,
  startAggregator,
  text,
  type Agg,
} from "../helpers/resilience.js";

const breaker = {
  volumeThreshold: 2,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 1_500,
  rollingCountTimeoutMs: 10_000,
};
const noRetry = { retry: { retries: 0 } };

/**
 * Circuit breakers, health checks and concurrency limits through the real aggregator (real timers:
 * the aggregator is a child process; waits are kept short).
 *   brk   – small breaker, 300 ms attempts, no retries: opened by timeouts, closed by a probe
 *   brk2  – small breaker: isError results and JSON-RPC errors must not open it
 *   brk3  – small breaker, 500 ms attempts, 5 retries: the retry loop ends when the breaker opens
 *   hc    – 400 ms health checks; SIGSTOPped, its failed pings feed the breaker and get it restarted
 *   lim   – maxConcurrency 2, maxQueue 1
 */
describe("resilience: breaker, health checks, limits", () => {
  let agg: Agg;
  let hcPid = 0;

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  beforeAll(async () => {
    agg = await startAggregator({
      brk: fault({ timeoutMs: 300, breaker, ...noRetry }),
      brk2: fault({ timeoutMs: 300, breaker, ...noRetry }),
      brk3: fault({
        timeoutMs: 500,
        breaker,
        retry: { retries: 5, minTimeoutMs: 50, maxTimeoutMs: 100, randomize: false },
      }),
      hc: fault({ breaker, healthCheckIntervalMs: 400, ...noRetry }),
      lim: fault({ maxConcurrency: 2, maxQueue: 1 }),
    });
  });

  afterAll(async () => {
    if (hcPid) {
      try {
        process.kill(hcPid, "SIGCONT");
      } catch {
        // Already gone.
      }
    }
    await agg?.close();
  });

  describe("breaker", () => {
    it("opens after failures; while open, calls fail fast naming the server and the retry time", async () => {
      expectToolError(await agg.call("brk_hang"), /timed out/);
      expect((await agg.serverStatus("brk")).breaker).toBe("closed"); // volumeThreshold 2 not reached yet
      expectToolError(await agg.call("brk_hang"), /timed out/);
      const s = await agg.serverStatus("brk");
      expect(s.breaker).toBe("open");
      expect(s.breakerRetryAt).toMatch(/^\d{4}-\d\d-\d\dT/);

      const t = expectToolError(
        await agg.call("brk_echo", { message: "x" }),
        /brk_echo/,
        /brk is unavailable/,
        /circuit open after 2 failures/,
      );
      expect(t).toMatch(/next attempt at \d{4}-\d\d-\d\dT[^ ]+ \(in \d+s\)/);
      expect(t).toContain("hang timed out after 300 ms"); // the failure behind it
      expect(agg.received("brk", "echo")).toBe(0);
    });

    it("lets one probe through after resetTimeoutMs; its success closes the breaker", async () => {
      await sleep(1_600);
      expect(["open", "halfOpen"]).toContain((await agg.serverStatus("brk")).breaker);
      expect(expectOk(await agg.call("brk_echo", { message: "probe" }))).toBe("probe");
      expect(agg.received("brk", "echo")).toBe(1);
      expect((await agg.serverStatus("brk")).breaker).toBe("closed");
      expect(expectOk(await agg.call("brk_echo", { message: "again" }))).toBe("again");
    });

    it("does not count isError results or -32602 faults", async () => {
      for (let i = 0; i < 3; i++) expectToolError(await agg.call("brk2_fail_tool"), /tool failed on purpose/);
      for (let i = 0; i < 3; i++) {
        const r = await agg.call("brk2_rpc_error", { code: -32602 });
        expect(r).toBeInstanceOf(McpError);
        expect((r as McpError).code).toBe(-32602);
      }
      const s = await agg.serverStatus("brk2");
      expect(s.breaker).toBe("closed");
      expect(s.calls).toBe(6);
      expect(s.errors).toBe(6);
      expect(expectOk(await agg.call("brk2_echo", { message: "fine" }))).toBe("fine");
    });

    it("ends the retry loop at once when the breaker opens", async () => {
      const t = expectToolError(await agg.call("brk3_hang"), /brk3 is unavailable/, /circuit open/);
      expect(t).toMatch(/next attempt at/);
      // 2 attempts opened the breaker; the other 4 retries never reached the server.
      expect(agg.received("brk3", "hang")).toBe(2);
      expect((await agg.serverStatus("brk3")).breaker).toBe("open");
    });
  });

  it("lets exactly one probe through while half-open; a concurrent call is told to try again", async () => {
    await sleep(1_600);
    const before = agg.received("brk3", "slow");
    const [a, b] = await Promise.all([agg.call("brk3_slow", { ms: 50 }), agg.call("brk3_slow", { ms: 50 })]);
    const texts = [a, b].map((r) => text(r));
    expect(texts.filter((t) => t === "done")).toHaveLength(1);
    expect(texts.find((t) => t !== "done")).toMatch(
      /brk3 is unavailable \(circuit half-open.*\); a probe call is in flight; try again in a moment/,
    );
    expect(agg.received("brk3", "slow")).toBe(before + 1);
    expect((await agg.serverStatus("brk3")).breaker).toBe("closed");
  });

  describe("health checks", () => {
    it("feeds failed pings to the breaker and restarts a server that stopped answering them", async () => {
      hcPid = (await agg.stats("hc")).pid;
      process.kill(hcPid, "SIGSTOP");
      // Two failed pings in a row: the hung process group is stopped (SIGKILL reaches a stopped process)
      // and the server is started anew within its restart budget.
      await waitFor(
        async () => {
          const s = await agg.serverStatus("hc");
          return s.restarts >= 1 && s.state === "ready";
        },
        20_000,
        100,
      );
      await waitFor(() => !running(hcPid), 10_000, 100);
      const s = await agg.serverStatus("hc");
      expect(s.lastError?.message).toMatch(/timed out|timeout|health checks/i);
      expect((await agg.stats("hc")).pid).not.toBe(hcPid);
      expect(expectOk(await agg.call("hc_echo", { message: "back" }))).toBe("back");
      expect((await agg.serverStatus("hc")).breaker).toBe("closed");
      hcPid = 0;
    });
  });

  describe("limit", () => {
    it("answers 'server busy' beyond maxConcurrency + maxQueue, and runs the rest", async () => {
      const calls = [0, 1, 2, 3].map(() => agg.call("lim_slow", { ms: 1_500 }));
      // The rejected one answers at once; then two run and one waits.
      const first = (await Promise.race(calls.map((p, i) => p.then(() => i)))) as number;
      const busy = (await calls[first]) as CallToolResult;
      expectToolError(busy, /lim_slow/, /lim is busy/, /maxConcurrency 2/, /maxQueue 1/, /try again/);
      const s = await agg.serverStatus("lim");
      expect(s.inFlight).toBe(2);
      expect(s.queued).toBe(1);
      const rest = await Promise.all(calls.filter((_, i) => i !== first));
      expect(rest.map((r) => text(r))).toEqual(["done", "done", "done"]);
      expect(agg.received("lim", "slow")).toBe(3);
      const after = await agg.serverStatus("lim");
      expect(after.inFlight).toBe(0);
      expect(after.queued).toBe(0);
      expect(after.breaker).toBe("closed"); // busy does not count as a failure
    });

    it("a queued call the client cancels leaves the queue and never reaches the server", async () => {
      const before = agg.received("lim", "slow");
      const running = [agg.call("lim_slow", { ms: 1_500 }), agg.call("lim_slow", { ms: 1_500 })];
      await waitFor(async () => (await agg.serverStatus("lim")).inFlight === 2, 5_000, 20);
      const controller = new AbortController();
      const queued = agg.h.client.callTool({ name: "lim_slow", arguments: { ms: 1_500 } }, undefined, {
        signal: controller.signal,
      });
      await waitFor(async () => (await agg.serverStatus("lim")).queued === 1, 5_000, 20);
      controller.abort("changed my mind");
      await expect(queued).rejects.toThrow();
      await waitFor(async () => (await agg.serverStatus("lim")).queued === 0, 5_000, 20);
      expect((await Promise.all(running)).map((r) => text(r))).toEqual(["done", "done"]);
      expect(agg.received("lim", "slow")).toBe(before + 2);
      const s = await agg.serverStatus("lim");
      expect(s.inFlight).toBe(0);
      expect(s.breaker).toBe("closed");
    });
  });
});
