/**
 * The cancellation of one call: who cancelled (the client, the total budget, shutdown) reaches every
 * layer that waits (the limiter queue, a reconnect wait, the downstream request).
 *
 * Not an AbortController: on the hot path a call would otherwise build two or three of them and add and
 * remove an EventTarget listener at every layer, which the CPU profile put at about a fifth of the
 * aggregator's time per call. Listeners here are plain functions in an array (removal is O(1)), and a
 * real AbortSignal is made only when something outside our code needs one (the SDK Client for non-stdio
 * transports, p-retry after a failure, workflows, the relay of a server→client request).
 */
/** What a waiting layer needs from a call's cancellation: CallCancel, or an AbortSignal seen through fromSignal. */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Runs fn on abort (never if already aborted); returns the remover. */
  onAbort(fn: () => void): () => void;
  /** A real AbortSignal for code outside ours. */
  readonly signal: AbortSignal;
}

/** An AbortSignal as a Cancellation (each onAbort adds one listener; the remover takes it off). */
export function fromSignal(signal: AbortSignal): Cancellation {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onAbort(fn) {
      if (signal.aborted) return noop;
      signal.addEventListener("abort", fn, { once: true });
      return () => signal.removeEventListener("abort", fn);
    },
    signal,
  };
}

export class CallCancel implements Cancellation {
  private state: { reason: unknown } | undefined;
  private listeners: ((() => void) | undefined)[] | undefined;
  private controller: AbortController | undefined;

  get aborted(): boolean {
    return this.state !== undefined;
  }

  get reason(): unknown {
    return this.state?.reason;
  }

  /** Aborts once; later calls are ignored. Listeners run in registration order, synchronously. */
  abort(reason: unknown = new Error("This operation was aborted")): void {
    if (this.state) return;
    this.state = { reason };
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const fn of listeners) fn?.();
  }

  /**
   * Runs `fn` when this aborts (never if it already has: check `aborted` first). Returns the remover,
   * which must be called when the waiter is done, so a long call does not collect listeners.
   */
  onAbort(fn: () => void): () => void {
    if (this.state) return noop;
    const list = (this.listeners ??= []);
    const index = list.push(fn) - 1;
    return () => {
      if (this.listeners === list) list[index] = undefined;
    };
  }

  /** A real AbortSignal that aborts with this (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.state) this.controller.abort(this.state.reason);
    }
    return this.controller.signal;
  }
}

/** A CallCancel that aborts with `parent` (the link is dropped by `unlink`). */
export function childOf(parent: Cancellation): { readonly cancel: CallCancel; unlink(): void } {
  const cancel = new CallCancel();
  if (parent.aborted) {
    cancel.abort(parent.reason);
    return { cancel, unlink: noop };
  }
  const unlink = parent.onAbort(() => cancel.abort(parent.reason));
  return { cancel, unlink };
}

function noop(): void {
  // nothing to remove
}
