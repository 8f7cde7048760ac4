import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Telemetry } from "../../telemetry/telemetry.js";
import { targetOf } from "../../telemetry/semconv.js";
import type { CallContext, Handler, Middleware } from "../types.js";

/**
 * Innermost layer: one downstream hop (each retry attempt is one) as a CLIENT span, child of the call's
 * span (ctx.trace), and one mcp.client.operation.duration observation. The request sent downstream
 * carries this span's traceparent in `_meta` (a copy of the caller's `_meta`; the caller's objects are
 * never changed). With telemetry off: one call that returns the shared no-op handle, then next(ctx).
 */
function settle(
  hop: ReturnType<Telemetry["outbound"]>,
  sent: Promise<CallToolResult>,
): Promise<CallToolResult> {
  return sent.then(
    (result) => {
      hop.end(result);
      return result;
    },
    (error: unknown) => {
      hop.fail(error);
      throw error;
    },
  );
}

function sendOn(next: Handler, ctx: CallContext): Promise<CallToolResult> {
  try {
    return next(ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** tools/call: the trace context goes into ctx.meta (forward sends it as the request's `_meta`). */
export function createToolHopLayer(telemetry: Telemetry): Middleware {
  return (next) =>
    function toolHopLayer(ctx): Promise<CallToolResult> {
      const { server, originalName } = ctx.route;
      const hop = telemetry.outbound(server, "tools/call", originalName, ctx.trace, ctx.attempts, ctx.args);
      if (!hop.live) return next(ctx);
      const meta = hop.traceMeta(ctx.meta);
      return settle(hop, sendOn(next, meta === ctx.meta ? ctx : { ...ctx, meta }));
    };
}

/** Routed requests (ctx.route.originalName is the method, ctx.args its params): the context goes into params._meta. */
export function createRequestHopLayer(telemetry: Telemetry): Middleware {
  return (next) =>
    function requestHopLayer(ctx): Promise<CallToolResult> {
      const { server, originalName: method } = ctx.route;
      const hop = telemetry.outbound(server, method, targetOf(method, ctx.args), ctx.trace);
      if (!hop.live) return next(ctx);
      const given = ctx.args["_meta"] as Record<string, unknown> | undefined;
      const meta = hop.traceMeta(given);
      return settle(hop, sendOn(next, meta === given ? ctx : { ...ctx, args: { ...ctx.args, _meta: meta } }));
    };
}
