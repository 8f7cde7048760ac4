import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../src/config/defaults.js";
import { parseConfig } from "../../src/config/load.js";
import { isAggregatorError, type AggregatorError } from "../../src/errors.js";
import { heapBoundsFor, parseHeapSetting } from "../../src/heap.js";
import { ROOT } from "../helpers/aggregator.js";

describe("AUTONOMOUS_MCP_HEAP", () => {
  it("unset leaves it to the config; off/default switch the governor off; on/semi/growing switch it on", () => {
    expect(parseHeapSetting(undefined)).toBeUndefined();
    expect(parseHeapSetting(" ")).toBeUndefined();
    expect(parseHeapSetting("default")).toBe("off");
    expect(parseHeapSetting("off")).toBe("off");
    expect(parseHeapSetting("on")).toEqual({});
    expect(parseHeapSetting("semi=8")).toEqual({ semiSpaceMb: 8 });
    expect(parseHeapSetting("semi=2, growing=100")).toEqual({ semiSpaceMb: 2, growingPercent: 100 });
  });

  it("rejects what it does not understand", () => {
    expect(parseHeapSetting("semi=0")).toBeInstanceOf(Error);
    expect(parseHeapSetting("semi=1.5")).toBeInstanceOf(Error);
    expect(parseHeapSetting("growing")).toBeInstanceOf(Error);
    expect(String(parseHeapSetting("young=4"))).toMatch(/unknown setting "young"/);
    expect(String(parseHeapSetting("yes"))).toMatch(/unknown setting "yes"/);
  });
});

describe("heap governor: opt-in", () => {
  const off = DEFAULTS.heap;
  const on = { ...DEFAULTS.heap, governor: true, semiSpaceMb: 4 };

  it("is off by default: neither the config's defaults nor an unset variable switch it on", () => {
    expect(off.governor).toBe(false);
    expect(parseConfig("{}", "servers.config.json", { env: {} }).config.heap).toEqual(DEFAULTS.heap);
    expect(heapBoundsFor(off, undefined)).toBeUndefined();
  });

  it("is on with the config's bounds when heap.governor is true; the variable overrides either way", () => {
    expect(heapBoundsFor(on, undefined)).toEqual({ semiSpaceMb: 4, growingPercent: 50 });
    expect(heapBoundsFor(on, "off")).toBeUndefined();
    expect(heapBoundsFor(off, {})).toEqual({ semiSpaceMb: 2, growingPercent: 50 });
    expect(heapBoundsFor(off, { growingPercent: 80 })).toEqual({ semiSpaceMb: 2, growingPercent: 80 });
    expect(heapBoundsFor(on, { semiSpaceMb: 8 })).toEqual({ semiSpaceMb: 8, growingPercent: 50 });
  });

  it.each<[string, unknown, RegExp]>([
    ["a governor that is not a boolean", { governor: "yes" }, /heap\.governor/],
    ["a semi-space of 0 MB", { governor: true, semiSpaceMb: 0 }, /heap\.semiSpaceMb/],
    ["a fractional growth", { growingPercent: 12.5 }, /heap\.growingPercent/],
    ["an unknown key", { semi: 2 }, /heap.*semi/],
  ])(
    "refuses %s in the config (CONFIG_INVALID naming the key); the rest of the file is not lost",
    (_n, heap, re) => {
      let problems: string[] = [];
      try {
        parseConfig(JSON.stringify({ heap, mcpServers: { s: { command: "x", timeoutMs: -1 } } }), "c.json", {
          env: {},
        });
      } catch (error) {
        expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
        problems = (error as AggregatorError).details["problems"] as string[];
      }
      expect(
        problems.some((p) => re.test(p)),
        problems.join("\n"),
      ).toBe(true);
      // The other problem in the same file is reported too: one round fixes everything.
      expect(
        problems.some((p) => /timeoutMs/.test(p)),
        problems.join("\n"),
      ).toBe(true);
    },
  );
});

/** Runs a script in a fresh Node (its own heap) that churns objects and prints the young generation's size. */
function youngGeneration(mode: "bounded" | "default"): { startup: number; serving: number } {
  const heap = pathToFileURL(path.join(ROOT, "dist", "heap.js")).href;
  const script = `
    import v8 from "node:v8";
    import { boundHeap } from ${JSON.stringify(heap)};
    const mb = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 1048576;
    // Objects that survive a collection or two (like calls in flight). It yields often: the cap is applied
    // by a GC observer, which runs an event-loop turn or two after each collection.
    const churn = async () => {
      let keep = [];
      for (let i = 0; i < 1_500_000; i++) {
        keep.push({ i, s: "x" + i });
        if (keep.length > 20_000) keep = [];
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const governor = ${JSON.stringify(mode)} === "bounded" ? boundHeap({ semiSpaceMb: 4, growingPercent: 50 }) : undefined;
    await churn();
    const startup = mb();
    governor?.setSemiSpaceCap(4);
    await churn();
    process.stdout.write(JSON.stringify({ startup, serving: mb() }));
    governor?.stop();
  `;
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { startup: number; serving: number };
}

describe("boundHeap", () => {
  it("keeps the young generation at 1 MB per semi-space during start-up, then at the configured cap", () => {
    const bounded = youngGeneration("bounded");
    const seen = JSON.stringify(bounded);
    // new_space counts both semi-spaces. The cap is re-applied by a GC observer, whose entries arrive an
    // event-loop turn or two after the collection: on a loaded machine one more collection may grow the
    // space one step (×2) past the cap before it runs (seen once in a full suite run, not reproduced in
    // 48 runs beside 8 busy processes). One step, never more.
    expect(bounded.startup, seen).toBeLessThanOrEqual(2 * 2);
    expect(bounded.serving, seen).toBeGreaterThan(bounded.startup);
    expect(bounded.serving, seen).toBeLessThanOrEqual(8 * 2);
    // Without bounds the same churn grows it past the cap (V8's maximum is 2 × 16 MB): the test measures something.
    expect(youngGeneration("default").serving).toBeGreaterThan(8 * 2);
  });
});
