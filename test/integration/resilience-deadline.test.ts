import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { memoryEntry } from "../helpers/aggregator.js";
import {
  expectOk,
  expectToolError,
  fault,
  running,
  startAggregator,
  type Agg,
} from "../helpers/resilience.js";

/**
 * Validation and deadlines, through the built CLI over stdio in front of fault-server children.
 *   fault – defaults (validation)
 *   dl    – timeoutMs 400 per attempt, totalTimeoutMs 1500, one quick retry
 *   dl0   – timeoutMs 600, totalTimeoutMs 1500, no retries
 */
describe("resilience: validation and deadlines", () => {
  let agg: Agg;

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  beforeAll(async () => {
    agg = await startAggregator({
      fault: fault(),
      dl: fault({
        timeoutMs: 400,
        totalTimeoutMs: 1_500,
        retry: { retries: 1, minTimeoutMs: 20, maxTimeoutMs: 50 },
      }),
      dl0: fault({ timeoutMs: 600, totalTimeoutMs: 1_500, retry: { retries: 0 } }),
      memory: (dir) => memoryEntry(dir, { serializeWrites: true }),
    });
  });

  afterAll(async () => {
    await agg?.close();
  });

  describe("validation", () => {
    it("rejects a missing required argument without reaching the server", async () => {
      const t = expectToolError(
        await agg.call("fault_echo", {}),
        /fault_echo/,
        /\(root\): must have required property 'message'/,
      );
      expect(t).toMatch(/^Invalid arguments/);
    });

    it("rejects a wrong type, naming the path", async () => {
      expectToolError(await agg.call("fault_echo", { message: 5 }), /\/message: must be string/);
      expectToolError(await agg.call("fault_big", { bytes: "lots" }), /\/bytes: must be number/);
    });

    it("names every violating path, nested ones included", async () => {
      const t = expectToolError(
        await agg.call("memory_create_entities", {
          entities: [{ name: 1, entityType: "person", observations: ["ok", 2] }, { name: "Bo" }],
        }),
      );
      expect(t).toContain("/entities/0/name: must be string");
      expect(t).toContain("/entities/0/observations/1: must be string");
      expect(t).toContain("/entities/1: must have required property 'entityType'");
      expect(t).toContain("/entities/1: must have required property 'observations'");
      // server-memory never saw it: no file written, no entity.
      const file = path.join(agg.dir, "memory.jsonl");
      expect(existsSync(file) ? readFileSync(file, "utf8") : "").not.toContain("Bo");
    });

    it("the downstream saw none of the invalid calls", async () => {
      const stats = await agg.stats("fault");
      expect(stats.calls["echo"] ?? 0).toBe(0);
      expect(stats.calls["big"] ?? 0).toBe(0);
      expect(agg.received("fault", "echo")).toBe(0);
      // A valid call goes through.
      expect(expectOk(await agg.call("fault_echo", { message: "valid" }))).toBe("valid");
      expect((await agg.stats("fault")).calls["echo"]).toBe(1);
    });
  });

  describe("deadlines", () => {
    it("times out an attempt, names server, tool and budget, and cancels it downstream", async () => {
      const t = expectToolError(await agg.call("dl0_hang"), /dl0/, /hang/, /600 ms/);
      expect(t).toMatch(/timed out/);
      expect(agg.received("dl0", "hang")).toBe(1);
      const stats = await agg.stats("dl0");
      expect(stats.cancelled).toHaveLength(1);
      expect(stats.aborted).toHaveLength(1);
    });

    it("retries a timed-out read-only attempt, cancelling each one downstream", async () => {
      expectToolError(await agg.call("dl_hang"), /dl/, /hang/, /400 ms/);
      expect(agg.received("dl", "hang")).toBe(2);
      const stats = await agg.stats("dl");
      expect(stats.cancelled).toHaveLength(2);
      // Every cancellation names a request this server received.
      const ids = agg
        .log("dl")
        .filter((e) => e.name === "hang")
        .map((e) => e.id);
      expect(stats.cancelled.sort()).toEqual(ids.sort());
    });

    it("progress restarts the attempt timer: 5 steps of 200 ms pass a 600 ms attempt budget", async () => {
      const seen: number[] = [];
      const r = await agg.call(
        "dl0_progress",
        { steps: 5, delayMs: 200 },
        { onprogress: (p) => void seen.push(p.progress) },
      );
      expect(expectOk(r)).toBe("progressed 5");
      // Relayed in order. The SDK client drops a progress line that it reads in the same chunk as the result
      // (it dispatches notifications a microtask late), which can happen to the last ones on a busy machine.
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(seen).toEqual([1, 2, 3, 4, 5].slice(0, seen.length));
      expect((await agg.stats("dl0")).calls["progress"]).toBe(1);
      expect(agg.received("dl0", "progress")).toBe(1);
    });

    it("downstream progress restarts the attempt timer even when the client sent no progressToken", async () => {
      expect(expectOk(await agg.call("dl0_progress", { steps: 5, delayMs: 200 }))).toBe("progressed 5");
    });

    it("totalTimeoutMs caps a call that keeps reporting progress", async () => {
      const seen: number[] = [];
      const r = await agg.call(
        "dl0_progress",
        { steps: 40, delayMs: 150 },
        { onprogress: (p) => void seen.push(p.progress) },
      );
      expectToolError(r, /dl0/, /progress/, /1500 ms/, /totalTimeoutMs/);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen.length).toBeLessThan(40);
      const stats = await agg.stats("dl0");
      const progressIds = agg
        .log("dl0")
        .filter((e) => e.name === "progress")
        .map((e) => e.id);
      expect(stats.cancelled).toContain(progressIds[progressIds.length - 1]);
    });

    it("the aggregator is still healthy afterwards", async () => {
      expect(expectOk(await agg.call("dl_echo", { message: "still here" }))).toBe("still here");
      const s = await agg.serverStatus("dl");
      expect(s.state).toBe("ready");
    });
  });
});
