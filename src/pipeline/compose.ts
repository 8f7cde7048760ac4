import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallContext, Handler, Middleware } from "./types.js";

/**
 * next(ctx) as a promise even when next throws synchronously. Layers that are not `async` (the hot path
 * settles through one `.then` per layer instead of an async frame and an await) call the next layer
 * through this, so a synchronous throw still reaches their rejection handler.
 */
export function invoke(next: Handler, ctx: CallContext): Promise<CallToolResult> {
  try {
    return next(ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * compose([a, b, c], last) → a(b(c(last))). The FIRST middleware listed is the OUTERMOST.
 * (The SDK's applyMiddlewares does the opposite; we follow Hono's order because it reads top-down.)
 */
export function compose(middlewares: readonly Middleware[], last: Handler): Handler {
  let handler = last;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const mw = middlewares[i];
    if (mw) handler = mw(handler);
  }
  return handler;
}
