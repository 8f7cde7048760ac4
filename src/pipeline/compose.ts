import type { Handler, Middleware } from "./types.js";

/**
 * compose([a, b, c], last) → a(b(c(last))). The FIRST middleware listed is the OUTERMOST.
 * (The SDK's applyMiddlewares does the opposite; we follow Hono's order because it reads top-down.)
 * Every layer is a plain `async` function (docs/adr/0018): a throw anywhere is a rejection. An undefined
 * entry is a layer not configured (nothing is added for it).
 */
export function compose(middlewares: readonly (Middleware | undefined)[], last: Handler): Handler {
  let handler = last;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const mw = middlewares[i];
    if (mw) handler = mw(handler);
  }
  return handler;
}
