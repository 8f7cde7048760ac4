/** What the dashboard keeps (src/dashboard/): the time window, the recent-call rings, workflow runs. */
import { describe, expect, it } from "vitest";
import { Aggregator } from "../../src/aggregator.js";
import { CallFeed } from "../../src/callFeed.js";
import { parseConfig } from "../../src/config/load.js";
import { dashboardState } from "../../src/dashboard/state.js";
import { Activity } from "../../src/dashboard/activity.js";
import { BUCKET_MS, CallWindow, SAMPLES_PER_BUCKET } from "../../src/dashboard/window.js";
import { compose } from "../../src/pipeline/compose.js";
import { CallStats, createObserveLayer } from "../../src/pipeline/middleware/observe.js";
import { waitFor } from "../helpers/aggregator.js";
import { makeCtx, makeRoute, silentLogger, textResult } from "../helpers/pipeline.js";

describe("CallWindow", () => {
  it("counts calls and errors of the last minutes only, and forgets older buckets", () => {
    const w = new CallWindow(60_000);
    const t0 = 1_000_000_000_000;
    for (let i = 1; i <= 100; i++) w.record("s", t0, i, i % 10 === 0);
    expect(w.stats("s", t0)).toEqual({ calls: 100, errors: 10, errorRate: 0.1, p50Ms: 50, p99Ms: 99 });
    w.record("s", t0 + 30_000, 1_000, true);
    expect(w.stats("s", t0 + 30_000)).toMatchObject({ calls: 101, errors: 11 });
    // A minute later the first bucket has left the window; the second has not.
    expect(w.stats("s", t0 + 60_000 + BUCKET_MS)).toEqual({
      calls: 1,
      errors: 1,
      errorRate: 1,
      p50Ms: 1_000,
      p99Ms: 1_000,
    });
    expect(w.stats("s", t0 + 10 * 60_000)).toBeUndefined();
    expect(w.stats("other", t0)).toBeUndefined();
  });

  it("keeps at most SAMPLES_PER_BUCKET durations per bucket, counting every call", () => {
    let seed = 1;
    const w = new CallWindow(BUCKET_MS, () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646);
    const t0 = 5 * BUCKET_MS;
    for (let i = 0; i < 50_000; i++) w.record("s", t0, i < 25_000 ? 1 : 100, false);
    const s = w.stats("s", t0);
    expect(s?.calls).toBe(50_000);
    // A uniform sample of half 1 ms and half 100 ms calls: the median is one or the other, p99 is 100.
    expect([1, 100]).toContain(s?.p50Ms);
    expect(s?.p99Ms).toBe(100);
    expect(SAMPLES_PER_BUCKET).toBeLessThan(50_000);
  });
});

describe("Activity", () => {
  const feedInto = (activity: Activity) => {
    const stats = new CallStats();
    new CallFeed(stats).set("dashboard", activity.record);
    return compose([createObserveLayer(stats, silentLogger)], async (ctx) =>
      ctx.args["fail"] ? textResult(`failed with sk-${"a".repeat(30)}`, true) : textResult("ok"),
    );
  };

  it("lists the newest calls first, keeps failures apart, and scrubs their texts", async () => {
    const activity = new Activity({
      maxCalls: 3,
      maxFailures: 2,
      scrub: (t) => t.replace(/sk-\w+/g, "[redacted]"),
    });
    const call = feedInto(activity);
    const route = makeRoute({ server: "s", tool: "t", publicName: "s_t" });
    await call(makeCtx(route, { fail: true }));
    for (let i = 0; i < 5; i++) await call(makeCtx(route));
    expect(activity.recentCalls().map((c) => c.outcome)).toEqual(["ok", "ok", "ok"]);
    const failures = activity.recentFailures();
    expect(failures).toEqual([
      expect.objectContaining({ tool: "s_t", server: "s", originalTool: "t", outcome: "tool_error" }),
    ]);
    expect(failures[0]?.error).toBe("failed with [redacted]");
    expect(activity.window.stats("s", Date.now())).toMatchObject({ calls: 6, errors: 1 });
  });

  it("follows a workflow run step by step, then takes the final trace and status", () => {
    let now = 1_000;
    const activity = new Activity({ scrub: (t) => t.replace("secret", "[redacted]"), now: () => now });
    const watch = activity.started("wf", {
      sessionId: "s",
      principal: "alice",
      signal: new AbortController().signal,
      clientCapabilities: undefined,
    });
    expect(activity.workflowRuns()[0]).toMatchObject({
      name: "wf",
      status: "running",
      principal: "alice",
      steps: [],
    });
    now = 1_030;
    watch.step({ id: "a", tool: "x", status: "ok", durationMs: 20, attempts: 1 });
    expect(activity.workflowRuns()[0]?.steps).toEqual([
      { id: "a", tool: "x", status: "ok", durationMs: 20, attempts: 1, startMs: 10 },
    ]);
    now = 1_100;
    watch.finished({
      content: [{ type: "text", text: "Workflow wf: failed" }],
      isError: true,
      structuredContent: {
        status: "failed",
        trace: [
          { id: "a", tool: "x", status: "compensated", durationMs: 20, attempts: 1 },
          { id: "b", tool: "y", status: "error", durationMs: 5, attempts: 1, error: "bad secret" },
        ],
        failed: { step: "b", error: "bad secret" },
      },
    });
    expect(activity.workflowRuns()[0]).toMatchObject({
      status: "failed",
      durationMs: 100,
      steps: [
        { id: "a", status: "compensated", startMs: 10 },
        { id: "b", status: "error", error: "bad [redacted]" },
      ],
      failed: { step: "b", error: "bad [redacted]" },
    });
  });
});

describe("CallFeed", () => {
  it("sets no hook without listeners, and a throwing listener does not stop the others", () => {
    const stats = new CallStats();
    const errors: unknown[] = [];
    const feed = new CallFeed(stats, (e) => errors.push(e));
    expect(stats.onCall).toBeUndefined();
    const seen: string[] = [];
    feed.set("bad", () => {
      throw new Error("listener bug");
    });
    feed.set("good", (e) => seen.push(e.tool));
    stats.onCall?.({ server: "s", tool: "t", outcome: "ok", durationMs: 1, attempts: 1, cache: undefined });
    expect(seen).toEqual(["t"]);
    expect(errors).toEqual([new Error("listener bug")]);
    feed.set("bad", undefined);
    feed.set("good", undefined);
    expect(feed.names).toEqual([]);
    expect(stats.onCall).toBeUndefined();
  });
});

describe("dashboardState", () => {
  it("shows an open breaker with its retry-after, and the row as down", async () => {
    const loaded = parseConfig(
      JSON.stringify({
        mcpServers: {
          s: { command: "node", args: ["x.js"], breaker: { volumeThreshold: 2, resetTimeoutMs: 30_000 } },
        },
      }),
      "t.json",
    );
    const agg = new Aggregator(loaded, { log: silentLogger });
    try {
      const activity = new Activity({ scrub: (t) => t });
      const before = dashboardState(agg, activity, (t) => t);
      expect(before.servers).toEqual([
        expect.objectContaining({ name: "s", state: "not started", health: "starting", breaker: "closed" }),
      ]);
      for (let i = 0; i < 3; i++) agg.breakers.recordFailure("s", new Error("ping failed"));
      await waitFor(() => agg.breakers.stateOf("s") === "open");
      const retryAt = agg.breakers.retryAt("s") as number;
      const state = dashboardState(agg, activity, (t) => t, retryAt - 12_500);
      expect(state.servers[0]).toMatchObject({
        health: "down",
        breaker: "open",
        breakerRetryAt: new Date(retryAt).toISOString(),
        retryAfterS: 13,
      });
    } finally {
      await agg.close();
    }
  });
});
