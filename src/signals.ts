/**
 * How our code waits on an AbortSignal (docs/adr/0018). Every waiter (the deadline layer following the
 * caller, a limiter queue wait, a reconnect wait, a retry sleep, a downstream request) goes through
 * `onAbort`: all of them share ONE "abort" listener per signal, added by the first waiter and removed
 * with the last. A long-lived signal shared by many calls (the shutdown signal) therefore never holds
 * more than one listener of ours, and none once its calls have ended.
 */
interface Scope {
  readonly waiters: Set<() => void>;
  readonly listener: () => void;
}

const scopes = new WeakMap<AbortSignal, Scope>();

/**
 * Runs `fn` once when `signal` aborts (never if it already has: check `signal.aborted` first). Returns
 * the remover, which must be called when the waiter is done. Each registration needs its own function
 * (the waiters are a Set).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) return noop;
  let scope = scopes.get(signal);
  if (!scope) {
    const waiters = new Set<() => void>();
    const listener = (): void => {
      scopes.delete(signal);
      const run = [...waiters];
      waiters.clear();
      for (const waiter of run) waiter();
    };
    scope = { waiters, listener };
    scopes.set(signal, scope);
    signal.addEventListener("abort", listener, { once: true });
  }
  const own = scope;
  own.waiters.add(fn);
  return () => {
    if (!own.waiters.delete(fn) || own.waiters.size > 0) return;
    if (scopes.get(signal) === own) scopes.delete(signal);
    signal.removeEventListener("abort", own.listener);
  };
}

/** Aborts `child` with `parent`'s reason when `parent` aborts (at once if it already has) until unfollowed. */
export function follow(parent: AbortSignal, child: AbortController): () => void {
  if (parent.aborted) {
    child.abort(parent.reason);
    return noop;
  }
  return onAbort(parent, () => child.abort(parent.reason));
}

function noop(): void {
  // nothing to remove
}
