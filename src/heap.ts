import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/**
 * Bounds the aggregator's heap. V8's defaults suit a process with a large, growing live heap: the young
 * generation grows to 2 × 16 MB and the old generation may reach several times its live size before a
 * full collection, so under a burst of calls an aggregator whose live heap is ~12 MB peaked at 150–176 MB
 * resident (bench/results/history.md). Both knobs are applied at run time, because the aggregator is started
 * as `node dist/cli.js` (no command-line flags of its own, and re-executing Node would cost a second
 * start-up):
 *
 * - the young generation grows only up to `semiSpaceMb` per semi-space. V8 reads `--max-semi-space-size`
 *   once, when the heap is set up, but it reads `--semi-space-growth-factor` at every growth step: growth
 *   is allowed (factor 2) while the space is below the cap and stopped (factor 1) at the cap, re-checked
 *   after each young-generation collection;
 * - the old generation's next full-collection limit is `growingPercent` above its live size after each
 *   full collection (`--heap-growing-percent`, read whenever V8 recomputes the limit).
 *
 * The heap's maximum size is not changed: a large result still fits, it just costs collections.
 * `AUTONOMOUS_MCP_HEAP=default` keeps V8's defaults; `AUTONOMOUS_MCP_HEAP=semi=8,growing=100` (MB, %)
 * sets other bounds.
 */
export interface HeapBounds {
  /** Largest semi-space of the young generation, in MB (V8's own maximum is 16 on 64-bit). */
  readonly semiSpaceMb: number;
  /** Old generation: next full collection at live size × (1 + growingPercent / 100). */
  readonly growingPercent: number;
}

/**
 * 2 MB per semi-space: the peak with five downstreams under 128 calls in flight stays around 80 MB
 * (77.7–80.4 MB in the latest six full benchmark runs, up to 84.1 MB in earlier ones; 4 MB peaked
 * ~2 MB higher), at the price of more
 * young-generation collections per call under heavy load (bench/results/history.md);
 * `AUTONOMOUS_MCP_HEAP=semi=4` or `default` trades memory for throughput.
 */
export const DEFAULT_HEAP_BOUNDS: HeapBounds = { semiSpaceMb: 2, growingPercent: 50 };

/** `default` → undefined (V8's defaults); `semi=N,growing=P` → those bounds; empty → DEFAULT_HEAP_BOUNDS. */
export function parseHeapSetting(value: string | undefined): HeapBounds | undefined | Error {
  const text = value?.trim() ?? "";
  if (text === "") return DEFAULT_HEAP_BOUNDS;
  if (text === "default" || text === "off") return undefined;
  let { semiSpaceMb, growingPercent } = DEFAULT_HEAP_BOUNDS;
  for (const part of text.split(",")) {
    const [key, raw] = part.split("=").map((s) => s.trim());
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      return new Error(`AUTONOMOUS_MCP_HEAP: "${part}" needs a whole number from 1 to 1000`);
    if (key === "semi") semiSpaceMb = n;
    else if (key === "growing") growingPercent = n;
    else return new Error(`AUTONOMOUS_MCP_HEAP: unknown setting "${key}" (semi, growing, or "default")`);
  }
  return { semiSpaceMb, growingPercent };
}

const MB = 1024 * 1024;

function newSpaceBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === "new_space") return s.space_size;
  return 0;
}

export interface HeapGovernor {
  /** Raises (or lowers) the young generation's cap, in MB per semi-space. */
  setSemiSpaceCap(mb: number): void;
  /** Stops adjusting; V8's growth factor is left as it is (tests). */
  stop(): void;
}

/**
 * Applies the bounds to this process's heap. Start-up keeps the young generation at V8's smallest size
 * (`startupSemiSpaceMb`, default 1): loading modules leaves little garbage, and serving raises the cap to
 * `bounds.semiSpaceMb` (releaseStartupHeap).
 */
export function boundHeap(bounds: HeapBounds, startupSemiSpaceMb = 1): HeapGovernor {
  v8.setFlagsFromString(`--heap-growing-percent=${bounds.growingPercent}`);
  // new_space reports both semi-spaces.
  let cap = 2 * Math.min(startupSemiSpaceMb, bounds.semiSpaceMb) * MB;
  let growing: boolean | undefined;
  const adjust = (): void => {
    const below = newSpaceBytes() < cap;
    if (below === growing) return;
    growing = below;
    v8.setFlagsFromString(`--semi-space-growth-factor=${below ? 2 : 1}`);
  };
  adjust();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as { detail?: { kind?: number } }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) return adjust();
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    setSemiSpaceCap(mb) {
      cap = 2 * mb * MB;
      adjust();
    },
    stop: () => observer.disconnect(),
  };
}

let processGovernor: { governor: HeapGovernor; bounds: HeapBounds } | undefined;

/** The CLI's bounds (heapInit.ts), applied once per process. */
export function boundProcessHeap(bounds: HeapBounds): void {
  processGovernor ??= { governor: boundHeap(bounds), bounds };
}

/** The aggregator is serving: the young generation may grow to its configured cap. No-op without bounds. */
export function releaseStartupHeap(): void {
  processGovernor?.governor.setSemiSpaceCap(processGovernor.bounds.semiSpaceMb);
}
