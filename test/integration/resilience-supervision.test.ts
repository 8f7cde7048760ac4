import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { alive, waitFor } from "../helpers/aggregator.js";
import { expectOk, expectToolError, fault, startAggregator, text, type Agg } from "../helpers/resilience.js";

const quickRetry = { retry: { retries: 2, minTimeoutMs: 20, maxTimeoutMs: 100, randomize: false } };

/**
 * Supervision of stdio servers through the real aggregator:
 *   sup   – restart budget 2 in 60 s, first restart after 200–400 ms
 *   late  – restarts only after 1.5–3 s, calls have 500 ms attempts and a 600 ms total budget
 *   flap  – exits 600 ms after every start; budget 2 restarts
 *   garb  – writes garbage lines on stdout around every response
 */
describe("resilience: supervision", () => {
  let agg: Agg;
  const listChanged: number[] = [];

  beforeAll(async () => {
    agg = await startAggregator({
      sup: fault({ ...quickRetry, restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 400, maxDelayMs: 1_000 } }),
      late: fault({ ...quickRetry, timeoutMs: 500, totalTimeoutMs: 600, restart: { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 3_000, maxDelayMs: 3_000 } }),
      flap: fault({ restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 100 } }, { FLAP_AFTER_MS: "600" }, "flap"),
      garb: fault({}, {}, "garbage_stdout"),
    });
    agg.h.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged.push(Date.now()));
  });

  afterAll(async () => {
    await agg?.close();
  });

  it("restarts a crashed server; a call made during the restart waits and succeeds; tools stay listed", async () => {
    const before = await agg.stats("sup");
    const changedBefore = listChanged.length;
    const t = expectToolError(await agg.call("sup_crash"), /sup_crash/, /connection was lost while crash was in flight/);
    expect(t).toMatch(/not retried/);

    expect((await agg.serverStatus("sup")).state).toBe("restarting");
    const { tools } = await agg.h.client.listTools();
    expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(["sup_echo", "sup_crash", "sup_stats"]));

    expect(expectOk(await agg.call("sup_echo", { message: "waited" }))).toBe("waited");
    const after = await agg.stats("sup");
    expect(after.pid).not.toBe(before.pid);
    expect(alive(before.pid)).toBe(false);
    expect(after.starts).toBe(2);
    const s = await agg.serverStatus("sup");
    expect(s.state).toBe("ready");
    expect(s.restarts).toBe(1);
    expect(s.lastError?.message).toMatch(/exited|closed/);
    // Same tools after the restart: clients are not told the list changed.
    await new Promise((r) => setTimeout(r, 100));
    expect(listChanged.length).toBe(changedBefore);
  });

  it("fails a call whose deadline ends before the server is back", async () => {
    expectToolError(await agg.call("late_crash"), /connection was lost/);
    expectToolError(
      await agg.call("late_echo", { message: "x" }),
      /late_echo/,
      /late (is restarting and did not come back in time|did not finish echo within its total budget of 600 ms)/,
    );
    expect((await agg.serverStatus("late")).state).toBe("restarting");
    expect(agg.received("late", "echo")).toBe(0);
  });

  it("marks a server failed once its restart budget is spent: breaker open, clear isError", async () => {
    expectToolError(await agg.call("sup_crash"), /connection was lost/);
    await waitFor(async () => (await agg.serverStatus("sup")).state === "ready", 10_000, 50);
    expect((await agg.serverStatus("sup")).restarts).toBe(2);
    expectToolError(await agg.call("sup_crash"), /connection was lost/);
    await waitFor(async () => (await agg.serverStatus("sup")).state === "failed", 5_000, 50);

    const s = await agg.serverStatus("sup");
    expect(s.breaker).toBe("open");
    expect(s.restarts).toBe(2);
    expect(s.lastError?.message).toMatch(/exited|closed|restart budget/);
    const t = expectToolError(await agg.call("sup_echo", { message: "x" }), /sup_echo/, /sup is unavailable/);
    expect(t).toMatch(/restart budget spent \(2 in 60000 ms\)/);
    expect(agg.state("sup").starts).toBe(3);
  });

  it("gives up on a flapping server after its budget", async () => {
    await waitFor(async () => (await agg.serverStatus("flap")).state === "failed", 15_000, 100);
    const s = await agg.serverStatus("flap");
    expect(s.restarts).toBe(2);
    expect(s.breaker).toBe("open");
    expect(agg.state("flap").starts).toBe(3);
    expectToolError(await agg.call("flap_echo", { message: "x" }), /flap is unavailable/, /restart budget spent/);
    // Every flap process is gone.
    for (const pid of new Set(agg.log("flap").map((e) => e.pid))) expect(alive(pid)).toBe(false);
  });

  it("ignores garbage on a server's stdout", async () => {
    for (let i = 0; i < 5; i++) expect(expectOk(await agg.call("garb_echo", { message: `m${i}` }))).toBe(`m${i}`);
    const s = await agg.serverStatus("garb");
    expect(s.state).toBe("ready");
    expect(s.restarts).toBe(0);
    expect(agg.h.stderr()).toMatch(/dropped a non-JSON-RPC line/);
  });

  it("passes a 5 MB result through", async () => {
    const r = await agg.result("garb_big", { bytes: 5_000_000 });
    const t = text(r);
    expect(t.length).toBe(5_000_000);
    expect(/^x+$/.test(t)).toBe(true);
    expect(expectOk(await agg.call("garb_echo", { message: "after big" }))).toBe("after big");
  });

  it("sent no tools/list_changed for any restart", () => {
    expect(listChanged).toEqual([]);
  });
});
