import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/**
 * The run-time heap governor: bounds the aggregator's heap by changing V8 flags while the process runs.
 * **Off by default** (config `heap.governor`, env `AUTONOMOUS_MCP_HEAP`): Node documents that changing V8
 * flags after the VM has started "may result in unpredictable behavior, including crashes and data
 * loss", so nothing here runs unless asked for (docs/adr/0009-bundled-cli-and-bounded-heap.md).
 *
 * What it does when on. V8's defaults suit a process with a large, growing live heap: the young
 * generation grows to 2 × 16 MB and the old generation may reach several times its live size before a
 * full collection. Both knobs are applied at run time, because the aggregator is started as
 * `node dist/cli.js` (no command-line flags of its own, and re-executing Node would cost a second
 * start-up):
 *
 * - the young generation grows only up to `semiSpaceMb` per semi-space. V8 reads `--max-semi-space-size`
 *   once, when the heap is set up, but it reads `--semi-space-growth-factor` at every growth step: growth
 *   is allowed (factor 2) while the space is below the cap and stopped (factor 1) at the cap, re-checked
 *   after each young-generation collection;
 * - the old generation's next full-collection limit is `growingPercent` above its live size after each
 *   full collection (`--heap-growing-percent`, read whenever V8 recomputes the limit).
 *
 * The heap's maximum size is not changed: a large result still fits, it just costs collections. The safe
 * alternative needs no governor: V8 flags on Node's own command line (`node --max-semi-space-size=2
 * dist/cli.js …`), read before anything runs (docs/operations.md#memory).
 */
export interface HeapBounds {
  /** Largest semi-space of the young generation, in MB (V8's own maximum is 16 on 64-bit). */
  readonly semiSpaceMb: number;
  /** Old generation: next full collection at live size × (1 + growingPercent / 100). */
  readonly growingPercent: number;
}

/** The config's `heap` section (src/config/schema.ts; defaults in src/config/defaults.ts). */
export interface HeapConfig extends HeapBounds {
  readonly governor: boolean;
}

/**
 * `AUTONOMOUS_MCP_HEAP`, parsed: `undefined` (unset or empty: the config decides), `"off"` (`off` or
 * `default`: no governor, whatever the config says), or bounds to switch the governor on with (`on` → {},
 * the config's bounds; `semi=N,growing=P` → those, either may be left out).
 */
export type HeapEnvSetting = undefined | "off" | Partial<HeapBounds>;

export function parseHeapSetting(value: string | undefined): HeapEnvSetting | Error {
  const text = value?.trim() ?? "";
  if (text === "") return undefined;
  if (text === "default" || text === "off") return "off";
  if (text === "on") return {};
  const bounds: { semiSpaceMb?: number; growingPercent?: number } = {};
  for (const part of text.split(",")) {
    const [key, raw] = part.split("=").map((s) => s.trim());
    if (key !== "semi" && key !== "growing")
      return new Error(
        `AUTONOMOUS_MCP_HEAP: unknown setting "${key}" (semi, growing, or one of "on", "off", "default")`,
      );
    const n = Number(raw);
    if (raw === undefined || raw === "" || !Number.isInteger(n) || n < 1 || n > 1000)
      return new Error(`AUTONOMOUS_MCP_HEAP: "${part}" needs a whole number from 1 to 1000`);
    if (key === "semi") bounds.semiSpaceMb = n;
    else bounds.growingPercent = n;
  }
  return bounds;
}

/** The bounds to govern the heap with, or undefined: no governor (the default). The environment wins. */
export function heapBoundsFor(config: HeapConfig, env: HeapEnvSetting): HeapBounds | undefined {
  if (env === "off" || (env === undefined && !config.governor)) return undefined;
  return {
    semiSpaceMb: env?.semiSpaceMb ?? config.semiSpaceMb,
    growingPercent: env?.growingPercent ?? config.growingPercent,
  };
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

/**
 * serve (cli.ts, once the config is loaded): switches the governor on for this process when the config
 * or AUTONOMOUS_MCP_HEAP asks for it, once. Otherwise nothing happens: no V8 flag is changed. Returns
 * the bounds applied, if any.
 */
export function startHeapGovernor(config: HeapConfig, env: HeapEnvSetting): HeapBounds | undefined {
  const bounds = heapBoundsFor(config, env);
  if (bounds) processGovernor ??= { governor: boundHeap(bounds), bounds };
  return processGovernor?.bounds;
}

/** The aggregator is serving: the young generation may grow to its configured cap. No-op without the governor. */
export function releaseStartupHeap(): void {
  processGovernor?.governor.setSemiSpaceCap(processGovernor.bounds.semiSpaceMb);
}
