import type { Logger } from "./logger.js";

type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
const LEVELS: readonly Level[] = ["trace", "debug", "info", "warn", "error", "fatal"];

/** What the pre-spawn step logs through: the levels and child(); nothing else of pino's API. */
export type EarlyLogger = Pick<Logger, Level> & { child(bindings: Record<string, unknown>): EarlyLogger };

export interface DeferredLogger {
  readonly logger: EarlyLogger;
  /** Replays what was logged so far into `real` (its level applies) and forwards everything after. */
  attach(real: Logger): void;
}

/** Lines kept before attach; more are counted and reported as one line. */
const MAX_PENDING = 1_000;

/**
 * A logger for the few milliseconds between reading the config and creating pino: the CLI spawns the
 * servers first (their processes log through it for their whole life), then loads pino. Children made
 * before attach forward to the matching pino child after it.
 */
export function deferredLogger(): DeferredLogger {
  let real: Logger | undefined;
  const pending: { path: Record<string, unknown>[]; level: Level; args: unknown[] }[] = [];
  let dropped = 0;
  const make = (path: Record<string, unknown>[]): EarlyLogger => {
    let target: Logger | undefined;
    const resolve = (): Logger | undefined => {
      if (!real) return undefined;
      target ??= path.reduce<Logger>((l, bindings) => l.child(bindings), real);
      return target;
    };
    const early = {
      child: (bindings: Record<string, unknown>) => make([...path, bindings]),
    } as EarlyLogger;
    for (const level of LEVELS) {
      (early as unknown as Record<Level, (...args: unknown[]) => void>)[level] = (...args: unknown[]) => {
        const to = resolve();
        if (to) return void (to[level] as (...a: unknown[]) => void)(...args);
        if (pending.length < MAX_PENDING) pending.push({ path, level, args });
        else dropped++;
      };
    }
    return early;
  };
  return {
    logger: make([]),
    attach(logger) {
      real = logger;
      for (const { path, level, args } of pending.splice(0)) {
        const to = path.reduce<Logger>((l, bindings) => l.child(bindings), logger);
        (to[level] as (...a: unknown[]) => void)(...args);
      }
      if (dropped > 0) logger.warn({ dropped }, "log lines dropped before the logger was ready");
    },
  };
}
