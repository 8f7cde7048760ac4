import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { MEMORY_BIN, alive, memoryEntry, tempDir, waitFor } from "../helpers/aggregator.js";
import {
  expectOk,
  expectToolError,
  fault,
  running,
  startAggregator,
  text,
  type Agg,
} from "../helpers/resilience.js";

/** Entities recorded in a server-memory JSONL file. */
function entities(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { type: string; name?: string })
    .filter((e) => e.type === "entity")
    .map((e) => e.name ?? "");
}

const create = (name: string) => ({
  entities: [{ name, entityType: "thing", observations: [`made ${name}`] }],
});

/**
 * Cache, status and serialized writes through the real aggregator:
 *   cache – echo and slow opt into the cache (tools.overrides.<tool>.cacheTtlMs)
 *   mem   – the real server-memory with serializeWrites
 */
describe("resilience: cache, status, serialized writes", () => {
  let agg: Agg;

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  beforeAll(async () => {
    agg = await startAggregator({
      cache: fault({ tools: { overrides: { echo: { cacheTtlMs: 60_000 }, slow: { cacheTtlMs: 60_000 } } } }),
      mem: (dir) => memoryEntry(dir, { serializeWrites: true }),
    });
  });

  afterAll(async () => {
    await agg?.close();
  });

  describe("cache", () => {
    it("serves a repeated identical call from the cache", async () => {
      expect(expectOk(await agg.call("cache_echo", { message: "a" }))).toBe("a");
      expect(expectOk(await agg.call("cache_echo", { message: "a" }))).toBe("a");
      expect((await agg.stats("cache")).calls["echo"]).toBe(1);
      // Different arguments are a different entry.
      expect(expectOk(await agg.call("cache_echo", { message: "b" }))).toBe("b");
      expect((await agg.stats("cache")).calls["echo"]).toBe(2);
    });

    it("shares one downstream call among 10 concurrent identical calls", async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => agg.call("cache_slow", { ms: 600 })),
      );
      expect(results.map((r) => text(r))).toEqual(Array(10).fill("done"));
      expect((await agg.stats("cache")).calls["slow"]).toBe(1);
      expect(agg.received("cache", "slow")).toBe(1);
    });

    it("drops the server's entries on a write", async () => {
      expect(expectOk(await agg.call("cache_write", { value: "v" }))).toBe("1");
      expect(expectOk(await agg.call("cache_echo", { message: "a" }))).toBe("a");
      expect((await agg.stats("cache")).calls["echo"]).toBe(3);
      expect(expectOk(await agg.call("cache_echo", { message: "a" }))).toBe("a");
      expect((await agg.stats("cache")).calls["echo"]).toBe(3);
    });

    it("reports the hit rate in the status tool", async () => {
      const { cache } = await agg.status();
      expect(cache.hits).toBe(2);
      expect(cache.misses).toBe(4); // a, b, slow, a after the write
      expect(cache.coalesced).toBe(9);
      expect(cache.invalidations).toBeGreaterThanOrEqual(1);
      expect(cache.hitRate).toBeCloseTo(2 / 6, 2);
      expect(cache.size).toBeGreaterThan(0);
    });
  });

  describe("status tool", () => {
    it("reports state, breaker, restarts, in-flight, queued, counters, latency and last error per server", async () => {
      expectToolError(await agg.call("cache_fail_tool"), /tool failed on purpose/);
      const r = await agg.result("status");
      expect(text(r)).toMatch(/cache: ready, protocol 2025-11-25 \(legacy\), breaker closed/);
      const status = await agg.status();
      const s = status.servers.find((x) => x.name === "cache");
      expect(s).toMatchObject({ state: "ready", breaker: "closed", restarts: 0, inFlight: 0, queued: 0 });
      expect(s?.tools).toBeGreaterThan(10);
      expect(s?.calls).toBeGreaterThanOrEqual(17);
      expect(s?.errors).toBe(1);
      expect(s?.p50Ms).toBeGreaterThanOrEqual(0);
      expect(s?.p99Ms).toBeGreaterThanOrEqual(s?.p50Ms ?? 0);
      expect(s?.p99Ms).toBeGreaterThan(0);
      expect(s?.lastError?.message).toContain("tool failed on purpose");
      expect(Number.isNaN(Date.parse(s?.lastError?.at ?? ""))).toBe(false);
      expect(status.servers.map((x) => x.name).sort()).toEqual(["cache", "mem"]);
      expect(typeof status.cache.hitRate).toBe("number");
    });
  });

  describe("serialized writes", () => {
    it("keeps all 50 concurrent create_entities through the aggregator", async () => {
      const names = Array.from({ length: 50 }, (_, i) => `agg-entity-${i}`);
      const results = await Promise.all(names.map((n) => agg.call("mem_create_entities", create(n))));
      for (const r of results) expectOk(r);
      const stored = entities(path.join(agg.dir, "memory.jsonl"));
      expect(stored.sort()).toEqual([...names].sort());
      const graph = text(await agg.result("mem_read_graph"));
      for (const n of names) expect(graph).toContain(n);
    });

    it("for contrast: server-memory alone loses concurrent writes", async () => {
      const tmp = await tempDir("amcp-mem-direct-");
      const file = path.join(tmp.dir, "memory.jsonl");
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [MEMORY_BIN],
        env: { PATH: process.env["PATH"] ?? "", MEMORY_FILE_PATH: file },
        stderr: "ignore",
      });
      const client = new Client({ name: "direct", version: "1.0.0" });
      try {
        await client.connect(transport);
        const pid = transport.pid;
        const names = Array.from({ length: 50 }, (_, i) => `direct-entity-${i}`);
        await Promise.all(
          names.map((n) =>
            client.callTool({ name: "create_entities", arguments: create(n) }).catch(() => undefined),
          ),
        );
        const stored = new Set(entities(file));
        expect(stored.size).toBeLessThan(50);
        await client.close();
        if (pid !== undefined && pid !== null) await waitFor(() => !alive(pid), 5_000);
      } finally {
        await client.close().catch(() => undefined);
        await tmp.cleanup();
      }
    });
  });
});
