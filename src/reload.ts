import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { Aggregator } from "./aggregator.js";
import { loadConfig } from "./config/load.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";
import type { ResolvedServer } from "./config/load.js";

export interface ReloaderOptions {
  readonly aggregator: Aggregator;
  readonly path: string;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly debounceMs?: number;
  /** Called after each attempt (tests, the CLI's one-line messages). */
  readonly onResult?: (
    result:
      { ok: true; added: string[]; removed: string[]; restarted: string[] } | { ok: false; reason: string },
  ) => void;
}

/**
 * Hot reload: the config file is watched (its folder, since editors replace files by renaming) and
 * SIGHUP forces a reload. A change is validated first; an invalid file leaves the running config in
 * place and the reason is logged.
 */
export class ConfigReloader {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly onHup = (): void => void this.reload("SIGHUP");

  constructor(private readonly options: ReloaderOptions) {}

  start(): void {
    const file = path.resolve(this.options.path);
    const base = path.basename(file);
    try {
      this.watcher = watch(path.dirname(file), (_event, name) => {
        if (name === null || name.toString() === base) this.schedule();
      });
      this.watcher.on("error", (error) =>
        this.options.log.warn({ err: errorMessage(error) }, "config watch failed"),
      );
    } catch (error) {
      this.options.log.warn(
        { err: errorMessage(error) },
        "cannot watch the config file; SIGHUP still reloads",
      );
    }
    process.on("SIGHUP", this.onHup);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload("file changed"), this.options.debounceMs ?? 200);
    this.timer.unref();
  }

  /** Serialised: a reload waits for the previous one. */
  reload(why: string): Promise<void> {
    this.running = this.running.then(() => this.apply(why));
    return this.running;
  }

  private async apply(why: string): Promise<void> {
    const { log, aggregator } = this.options;
    let next;
    try {
      next = await loadConfig(this.options.path, { env: this.options.env ?? process.env });
    } catch (error) {
      const reason = errorMessage(error);
      log.error({ reason, why }, "config reload rejected: the running config stays");
      this.options.onResult?.({ ok: false, reason });
      return;
    }
    const result = await aggregator.reload(next);
    log.info({ why, ...result }, "config reloaded");
    this.options.onResult?.({ ok: true, ...result });
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
    process.off("SIGHUP", this.onHup);
  }
}

/** What a config reload changes: servers added, removed, and those whose resolved entry differs. */
export function diffServers(
  before: ReadonlyMap<string, ResolvedServer>,
  after: ReadonlyMap<string, ResolvedServer>,
): { added: string[]; removed: string[]; restarted: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  const restarted: string[] = [];
  for (const name of before.keys()) if (!after.has(name)) removed.push(name);
  for (const [name, s] of after) {
    const old = before.get(name);
    if (!old) added.push(name);
    else if (JSON.stringify(old) !== JSON.stringify(s)) restarted.push(name);
  }
  return { added, removed, restarted };
}
