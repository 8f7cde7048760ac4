import type { CallEvent, CallStats } from "./pipeline/middleware/observe.js";

export type CallListener = (event: CallEvent) => void;

/**
 * The finished-call listeners (metrics, the dashboard, the audit log), each under its own name, on the
 * one `CallStats.onCall` hook. With no listener the hook is unset, so the observe layer builds no event
 * object at all. A listener that throws is reported and the others still run; the call's answer is never
 * affected.
 */
export class CallFeed {
  private readonly listeners = new Map<string, CallListener>();

  constructor(
    private readonly stats: CallStats,
    private readonly onListenerError: (error: unknown) => void = () => undefined,
  ) {}

  /** Sets (or, with undefined, removes) the listener called `name`. */
  set(name: string, listener: CallListener | undefined): void {
    if (listener) this.listeners.set(name, listener);
    else this.listeners.delete(name);
    const all = [...this.listeners.values()];
    const report = this.onListenerError;
    this.stats.onCall =
      all.length === 0
        ? undefined
        : function emitCall(event: CallEvent): void {
            for (const listener of all) {
              try {
                listener(event);
              } catch (error) {
                report(error);
              }
            }
          };
  }

  /** The names of the listeners set. */
  get names(): readonly string[] {
    return [...this.listeners.keys()];
  }
}
