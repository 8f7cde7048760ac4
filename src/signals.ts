/**
 * How our code waits on an AbortSignal (docs/adr/0018). Every waiter (the deadline layer following the
 * caller, a limiter queue wait, a reconnect wait, a retry sleep, a downstream request) goes through
 * `onAbort`: all of them share ONE "abort" listener per signal, added by the first waiter and removed
 * with the last. A long-lived signal shared by many calls (the shutdown signal) therefore never holds
 * more than one listener of ours, and none once its calls have ended.
 */
interface Scope {
  /** The first waiter; most signals (one call's) never have another. */
  first: (() => void) | undefined;
  /** The waiters after the first one, made when a second one comes. */
  more: Set<() => void> | undefined;
  readonly listener: () => void;
}

const scopes = new WeakMap<AbortSignal, Scope>();

/**
 * Runs `fn` once when `signal` aborts (never if it already has: check `signal.aborted` first). Returns
 * the remover, which must be called when the waiter is done. Each registration needs its own function.
 * A signal's first waiter costs no Set: one call's signal rarely has more than one.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) return noop;
  const scope = scopes.get(signal);
  if (!scope) {
    const own: Scope = {
      first: fn,
      more: undefined,
      listener: () => {
        scopes.delete(signal);
        const first = own.first;
        const run = own.more ? [...own.more] : [];
        own.first = undefined;
        own.more = undefined;
        first?.();
        for (const waiter of run) waiter();
      },
    };
    scopes.set(signal, own);
    signal.addEventListener("abort", own.listener, { once: true });
    return () => remove(signal, own, fn);
  }
  if (scope.first === undefined) scope.first = fn;
  else (scope.more ??= new Set()).add(fn);
  const own = scope;
  return () => remove(signal, own, fn);
}

/** Takes one waiter off its signal; the listener goes with the last one. */
function remove(signal: AbortSignal, own: Scope, fn: () => void): void {
  if (own.first === fn) own.first = undefined;
  else if (!own.more?.delete(fn)) return;
  if (own.first !== undefined || (own.more !== undefined && own.more.size > 0)) return;
  if (scopes.get(signal) === own) scopes.delete(signal);
  signal.removeEventListener("abort", own.listener);
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
