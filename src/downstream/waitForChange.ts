import { onAbort } from "../signals.js";

/**
 * Waits until one of `waiters` is called (the connection's state changed), `waitMs` pass, or `signal`
 * aborts (rejects with `cancelled()`). The waiter removes itself either way.
 */
export function waitForChange(
  waiters: Set<() => void>,
  waitMs: number,
  signal: AbortSignal,
  cancelled: () => Error,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stopWatching = (): void => undefined;
    const end = (): void => {
      clearTimeout(timer);
      stopWatching();
      waiters.delete(done);
    };
    const done = (): void => {
      end();
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    waiters.add(done);
    stopWatching = onAbort(signal, () => {
      end();
      reject(cancelled());
    });
  });
}
