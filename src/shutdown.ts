import { processGroups } from "./downstream/processGroups.js";

/** What receives the signals: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  off(event: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

export type ShutdownSignal = "SIGINT" | "SIGTERM";

/**
 * SIGINT/SIGTERM handling for the whole life of `serve`, installed before anything is started so that
 * no signal takes the default action (which would end the process without stopping its servers):
 *
 * - the first signal aborts `requested`: stop gracefully (calls in flight get their grace period);
 * - the second aborts `hurry`: skip the rest of the grace, cancel the calls in flight (their clients get
 *   an error answer), SIGKILL the servers' process groups instead of waiting for SIGTERM, exit;
 * - later ones change nothing (the shutdown is already as fast as it gets).
 *
 * A signal that arrives before anyone listens is not lost: the signals stay aborted.
 */
export interface Shutdown {
  readonly requested: AbortSignal;
  readonly hurry: AbortSignal;
  /** Told about every signal (count 1, 2, …), e.g. to log it; set once a logger exists. */
  onSignal: ((signal: ShutdownSignal, count: number) => void) | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

export function installShutdown(source: SignalSource = process): Shutdown {
  const requested = new AbortController();
  const hurry = new AbortController();
  let count = 0;
  const handlers = new Map<ShutdownSignal, () => void>();
  const shutdown: Shutdown = {
    requested: requested.signal,
    hurry: hurry.signal,
    onSignal: undefined,
    dispose: () => {
      for (const [signal, handler] of handlers) source.off(signal, handler);
      handlers.clear();
    },
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const handler = (): void => {
      count++;
      if (count === 1) requested.abort(signal);
      else hurry.abort(signal);
      shutdown.onSignal?.(signal, count);
    };
    handlers.set(signal, handler);
    source.on(signal, handler);
  }
  return shutdown;
}

/** Runs `listener` once `signal` is aborted: now if it already is. Returns the undo. */
export function whenAborted(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/** Polls `condition` every `stepMs` while it holds, for at most `ms`. */
export async function waitWhile(condition: () => boolean, ms: number, stepMs: number): Promise<void> {
  const until = Date.now() + ms;
  while (condition() && Date.now() < until) await new Promise((r) => setTimeout(r, stepMs));
}

/**
 * What `serve` in the CLI sets up before it starts anything: the signal handlers, and the watchdog that
 * stops the servers' process groups if this process dies without stopping them (SIGKILL).
 */
export function guardServe(warn: (message: string) => void): {
  shutdown: Shutdown;
  killServers: () => void;
} {
  const shutdown = installShutdown();
  guardChildren(warn);
  return { shutdown, killServers: () => processGroups.signalAll("SIGKILL") };
}

/** The orphan watchdog (serve, doctor, tools): stops the servers' groups if this process dies unseen. */
export function guardChildren(warn: (message: string) => void): void {
  processGroups.onWatchdogLost = () =>
    warn(
      "the orphan watchdog is not running: if this process is killed, servers that ignore stdin EOF may outlive it",
    );
  processGroups.guard();
}

/**
 * For the commands that run servers briefly (`doctor`, `tools`): the watchdog, and Ctrl-C or SIGTERM
 * kills the servers' process groups at once (they were only being probed), then takes its default
 * action, so the command still ends "by the signal". The watchdog covers the deaths no handler sees.
 */
export function guardBriefRun(warn: (message: string) => void): void {
  guardChildren(warn);
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    processGroups.signalAll("SIGKILL");
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}
