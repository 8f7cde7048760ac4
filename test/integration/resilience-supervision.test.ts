import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { alive, waitFor } from "../helpers/aggregator.js";
import { faultServerPath } from "../helpers/fault-server.js";
import {
  descendants,
  expectOk,
  expectToolError,
  fault,
  running,
  startAggregator,
  text,
  type Agg,
} from "../helpers/resilience.js";

const quickRetry = { retry: { retries: 2, minTimeoutMs: 20, maxTimeoutMs: 100, randomize: false } };

/**
 * Supervision of stdio servers through the real aggregator:
 *   sup   – restart budget 2 in 60 s, first restart after 200–400 ms
 *   late  – restarts only after 1.5–3 s, calls have 500 ms attempts and a 600 ms total budget
 *   flap  – exits 1.5 s after every start (time for its first start to finish on a loaded machine, so
 *           its tools do not join late during another test); budget 2 restarts
 *   garb  – writes garbage lines on stdout around every response
 *   dyn   – gains a tool at run time, then crashes: the restart brings back a different list
 *   gc    – spawns a grandchild (checked gone when the aggregator closes)
 */
describe("resilience: supervision", () => {
  let agg: Agg;
  const listChanged: number[] = [];

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  beforeAll(async () => {
    agg = await startAggregator({
      sup: fault({
        ...quickRetry,
        restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 400, maxDelayMs: 1_000 },
      }),
      late: fault({
        ...quickRetry,
        timeoutMs: 500,
        totalTimeoutMs: 600,
        restart: { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 3_000, maxDelayMs: 3_000 },
      }),
      flap: fault(
        { restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 100 } },
        { FLAP_AFTER_MS: "1500" },
        "flap",
      ),
      garb: fault({}, {}, "garbage_stdout"),
      dyn: fault({ restart: { initialDelayMs: 50, maxDelayMs: 100 } }),
      gc: (dir) => ({
        ...fault().entry,
        ...faultEntry("spawn_grandchild", { FAULT_GRANDCHILD_PID_FILE: path.join(dir, "gc.pid") }),
      }),
    });
    agg.h.client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => void listChanged.push(Date.now()),
    );
  });

  afterAll(async () => {
    await agg?.close();
  });

  it("restarts a crashed server; a call made during the restart waits and succeeds; tools stay listed", async () => {
    const before = await agg.stats("sup");
    const changedBefore = listChanged.length;
    const t = expectToolError(
      await agg.call("sup_crash"),
      /sup_crash/,
      /connection was lost while crash was in flight/,
    );
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
    expectToolError(
      await agg.call("flap_echo", { message: "x" }),
      /flap is unavailable/,
      /restart budget spent/,
    );
    // Every flap process is gone.
    for (const pid of new Set(agg.log("flap").map((e) => e.pid))) expect(alive(pid)).toBe(false);
  });

  it("ignores garbage on a server's stdout", async () => {
    for (let i = 0; i < 5; i++)
      expect(expectOk(await agg.call("garb_echo", { message: `m${i}` }))).toBe(`m${i}`);
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

  it("sends tools/list_changed when a restart brings back a different list", async () => {
    const before = listChanged.length;
    expect(text(await agg.result("dyn_add_tool", { name: "late_tool" }))).toBe("added late_tool");
    await waitFor(() => listChanged.length === before + 1);
    expect((await agg.h.client.listTools()).tools.map((t) => t.name)).toContain("dyn_late_tool");
    expectToolError(await agg.call("dyn_crash"), /connection was lost/);
    // The new process has only its built-in tools.
    await waitFor(() => listChanged.length === before + 2, 10_000);
    expect((await agg.h.client.listTools()).tools.map((t) => t.name)).not.toContain("dyn_late_tool");
    expect((await agg.serverStatus("dyn")).state).toBe("ready");
  });

  it("stops a server's grandchild with it when the aggregator closes", async () => {
    const gc = Number(readFileSync(path.join(agg.dir, "gc.pid"), "utf8"));
    expect(running(gc)).toBe(true);
    expect(descendants(agg.pid)).toContain(gc);
    // afterAll's close() waits for every descendant, this one included.
  });
});

function faultEntry(mode: string, env: Record<string, string>): Record<string, unknown> {
  return {
    command: process.execPath,
    args: [faultServerPath],
    env: { FAULT_MODE: mode, ...env },
    healthCheckIntervalMs: 0,
  };
}

/**
 * Process groups around crashes and shutdown. Each case has its own aggregator; `sh` wrappers give the
 * fault server a grandchild, as `npx` and shell wrappers do.
 */
describe("resilience: recovery of a failed server", () => {
  it("tries once more per restart window, and serves again when the server can start", async () => {
    // Exits at start until the marker file exists (a missing disk, network or credential fixed outside).
    const script = ['if [ ! -e "$MARK" ]; then echo "not yet" >&2; exit 1; fi', 'exec "$NODE" "$FAULT"'].join(
      "\n",
    );
    const agg = await startAggregator({
      phoenix: (dir) => ({
        command: "sh",
        args: ["-c", script],
        env: { NODE: process.execPath, FAULT: faultServerPath, MARK: path.join(dir, "ready") },
        healthCheckIntervalMs: 0,
        restart: { maxRestarts: 1, windowMs: 1_500, initialDelayMs: 50, maxDelayMs: 100 },
      }),
    });
    try {
      await waitFor(async () => (await agg.serverStatus("phoenix")).state === "failed", 10_000, 100);
      expect((await agg.serverStatus("phoenix")).lastError?.message).toMatch(
        /restart budget spent|recovery attempt failed|closed|exited/,
      );
      writeFileSync(path.join(agg.dir, "ready"), "");
      await waitFor(async () => (await agg.serverStatus("phoenix")).state === "ready", 15_000, 100);
      expect(expectOk(await agg.call("phoenix_echo", { message: "back" }))).toBe("back");
      expect((await agg.serverStatus("phoenix")).breaker).toBe("closed");
    } finally {
      await agg.close();
    }
  });
});

describe("resilience: process groups", () => {
  it("stops a restart that is still connecting when the aggregator closes (whole group)", async () => {
    // First start: a plain fault server. Restart: a grandchild first, then a 5 s slow start, so the
    // restart is still connecting when we close.
    const script = [
      'if [ -e "$MARK" ]; then',
      "  export FAULT_MODE=slow_start",
      `  "$NODE" -e 'setInterval(()=>{},1000)' </dev/null >/dev/null 2>&1 &`,
      '  echo $! > "$GC_FILE"',
      "fi",
      'touch "$MARK"',
      'exec "$NODE" "$FAULT"',
    ].join("\n");
    const agg = await startAggregator({
      wrapped: (dir) => ({
        command: "sh",
        args: ["-c", script],
        env: {
          NODE: process.execPath,
          FAULT: faultServerPath,
          MARK: path.join(dir, "started"),
          GC_FILE: path.join(dir, "gc.pid"),
          START_DELAY_MS: "5000",
        },
        healthCheckIntervalMs: 0,
        restart: { initialDelayMs: 50, maxDelayMs: 100 },
      }),
    });
    const gcFile = path.join(agg.dir, "gc.pid");
    expectToolError(await agg.call("wrapped_crash"), /connection was lost/);
    await waitFor(() => existsSync(gcFile) && readFileSync(gcFile, "utf8").trim() !== "", 5_000);
    const gc = Number(readFileSync(gcFile, "utf8"));
    expect((await agg.serverStatus("wrapped")).state).toBe("restarting");
    const connecting = descendants(agg.pid);
    expect(connecting).toContain(gc);
    await agg.close(); // asserts every descendant seen (the connecting leader and its grandchild) is gone
    expect(running(gc)).toBe(false);
  });

  // When a server process exits on its own, its process group is signalled too (src/downstream/stdio.ts),
  // so whatever it started does not outlive it.
  it("stops a crashed server's grandchild with it", async () => {
    const agg = await startAggregator({
      g: (dir) => ({
        ...faultEntry("spawn_grandchild", { FAULT_GRANDCHILD_PID_FILE: path.join(dir, "gc.pid") }),
        restart: { initialDelayMs: 50, maxDelayMs: 100 },
      }),
    });
    const gc = Number(readFileSync(path.join(agg.dir, "gc.pid"), "utf8"));
    try {
      expectToolError(await agg.call("g_crash"), /connection was lost/);
      await waitFor(async () => (await agg.serverStatus("g")).state === "ready");
      await waitFor(() => !running(gc), 1_500);
    } finally {
      if (running(gc)) process.kill(gc, "SIGKILL");
      await agg.close();
    }
  });

  // Regression: the child's 'close' event waits until every holder of its stdout pipe is gone, and a
  // grandchild that inherited stdout (a shell or npx wrapper's helper) keeps it open. The transport
  // (src/downstream/stdio.ts) therefore acts on 'exit': it signals the whole group so the pipe closes,
  // and reports the link as closed after a grace period at the latest, so the crash is noticed.
  describe("crash of a server whose grandchild holds its stdout", () => {
    let agg: Agg;
    beforeAll(async () => {
      agg = await startAggregator({
        held: {
          command: "sh",
          args: ["-c", `"$NODE" -e 'setInterval(()=>{},1000)' & exec "$NODE" "$FAULT"`],
          env: { NODE: process.execPath, FAULT: faultServerPath },
          healthCheckIntervalMs: 0,
          timeoutMs: 1_500,
          retry: { retries: 0 },
          restart: { initialDelayMs: 50, maxDelayMs: 100 },
        },
      });
    });
    afterAll(async () => {
      await agg?.close(); // closing signals the whole group: nothing is left either way
    });
    it("is noticed and the server restarted", async () => {
      expectToolError(await agg.call("held_crash"), /connection was lost/);
      await waitFor(async () => (await agg.serverStatus("held")).restarts === 1, 3_000);
    });
  });
});
