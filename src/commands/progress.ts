import type { LoadedConfig } from "../config/load.js";
import type { StartupState } from "../startup.js";

/** How `doctor` and `tools` report start-up progress (the CLI decides where each goes). */
export interface ProgressIo {
  /** The progress line, redrawn as servers settle and every second meanwhile (the CLI draws it on a TTY). */
  readonly progress?: (text: string) => void;
  /**
   * Once, after the start-up grace (`startup.graceMs`), if servers are still being waited for: one line
   * naming them and their connect timeouts (the CLI prints it when stderr is not a TTY, where no progress
   * line is drawn, so nobody is left with the connect timeout's worth of silence).
   */
  readonly slow?: (line: string) => void;
}

/** At most this many names in the progress line; the rest are counted. */
const MAX_NAMES = 3;

function names(list: readonly string[]): string {
  if (list.length <= MAX_NAMES) return list.join(", ");
  return `${list.slice(0, MAX_NAMES).join(", ")} and ${list.length - MAX_NAMES} more`;
}

/** `servers connected 2/3 — waiting for hang (12 s)`; `servers connected 3/3` once all have settled. */
export function progressText(
  settled: number,
  total: number,
  waiting: readonly string[],
  elapsedMs: number,
): string {
  const head = `autonomous-mcp: servers connected ${settled}/${total}`;
  if (waiting.length === 0) return head;
  return `${head} — waiting for ${names(waiting)} (${Math.floor(elapsedMs / 1000)} s)`;
}

/** `still waiting for hang (connect timeout 30 s), slow (connect timeout 60 s) …` */
export function slowText(
  waiting: readonly { name: string; connectTimeoutMs: number }[],
  elapsedMs: number,
): string {
  const each = waiting.map((w) => `${w.name} (connect timeout ${Math.round(w.connectTimeoutMs / 1000)} s)`);
  return `autonomous-mcp: after ${Math.round(elapsedMs / 1000)} s still waiting for ${each.join(", ")}; the report follows when they answer or time out`;
}

/**
 * Watches the servers of `loaded` settle: the progress line on each one and every second (naming those
 * still waited for), the `slow` line once after the start-up grace. Returns the stop function (call it
 * when the report is ready: the timers never outlive it).
 */
export function watchProgress(
  startup: Pick<StartupState, "onSettled">,
  loaded: LoadedConfig,
  io: ProgressIo,
  now: () => number = Date.now,
): () => void {
  const enabled = loaded.servers.filter((s) => s.skipReason === undefined);
  const waiting = new Set(enabled.map((s) => s.name));
  if (waiting.size === 0 || (!io.progress && !io.slow)) return () => undefined;
  const began = now();
  const draw = (): void =>
    io.progress?.(progressText(enabled.length - waiting.size, enabled.length, [...waiting], now() - began));
  const timers: NodeJS.Timeout[] = [];
  if (io.progress) {
    const tick = setInterval(draw, 1000);
    tick.unref();
    timers.push(tick);
  }
  if (io.slow && Number.isFinite(loaded.config.startup.graceMs)) {
    const grace = setTimeout(() => {
      if (waiting.size === 0) return;
      const left = enabled.filter((s) => waiting.has(s.name));
      io.slow?.(slowText(left, now() - began));
    }, loaded.config.startup.graceMs);
    grace.unref();
    timers.push(grace);
  }
  const stop = (): void => {
    for (const t of timers) clearTimeout(t);
    timers.length = 0;
  };
  startup.onSettled = (server) => {
    if (!waiting.delete(server)) return;
    draw();
    if (waiting.size === 0) stop();
  };
  return stop;
}
