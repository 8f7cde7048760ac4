import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallOrigin } from "../front/backend.js";
import { AggregatorError } from "../errors.js";
import type { Logger } from "../logger.js";
import { createCallContext } from "./context.js";
import type { DownstreamInput } from "../downstream/types.js";
import type { Handler, ToolRoute } from "./types.js";

/** Routed requests that go through the server's deadline, breaker and limit (buildRequestPipeline). */
export const GUARDED_REQUESTS: ReadonlySet<string> = new Set([
  "resources/read",
  "prompts/get",
  "completion/complete",
]);

/**
 * Slack of the deadline layer's budget over the request's own timeout: the connection's timeout (and its
 * usual DOWNSTREAM_TIMEOUT text) answers first; the deadline layer adds the caller's cancel and shutdown.
 */
const BUDGET_SLACK_MS = 1000;

export type RequestSender = (
  server: string,
  method: string,
  params: Record<string, unknown>,
  origin: CallOrigin,
  timeoutMs: number,
  /** A front client's own prompts/get or resources/read (the bridge): see CallContext.input. */
  input?: DownstreamInput,
) => Promise<Record<string, unknown>>;

/**
 * Any routed request to a downstream; the GUARDED_REQUESTS as a pipeline call: ctx.route names the server
 * and the method (read-only, so a serializeWrites server runs it beside a write); the result is handed
 * back untouched. `nextRequestId` is the aggregator's one request-id source (the router's).
 */
export function createRequestPath(
  wrap: (send: Handler) => Handler,
  target: { forward: RequestSender },
  log: Logger,
  nextRequestId: () => string,
): RequestSender {
  const send: RequestSender = (...a) => target.forward(...a);
  const routes = new Map<string, ToolRoute>();
  const handler = wrap(async function sendRequest(ctx): Promise<CallToolResult> {
    const origin = ctx.origin as CallOrigin;
    const { server, originalName: method } = ctx.route;
    // Cancelled on the way in (while queued for a slot): the downstream never sees the request.
    if (ctx.signal.aborted)
      throw new AggregatorError("CANCELLED", "the request was cancelled", {
        cause: ctx.signal.reason,
        details: { server },
      });
    // ctx.signal is the deadline layer's (the caller's + the budget + shutdown).
    return (await send(
      server,
      method,
      ctx.args,
      { ...origin, signal: ctx.signal },
      ctx.attemptTimeoutMs,
      ctx.input,
    )) as CallToolResult;
  });
  const routeOf = (server: string, method: string, timeoutMs: number): ToolRoute => {
    const key = `${server}\n${method}\n${timeoutMs}`;
    let route = routes.get(key);
    if (!route) {
      route = {
        publicName: method,
        server,
        originalName: method,
        inputSchema: {},
        policy: {
          hints: { readOnly: true, idempotent: true, destructive: false },
          retrySafe: false,
          timeoutMs,
          totalTimeoutMs: timeoutMs + BUDGET_SLACK_MS,
          cacheTtlMs: 0,
        },
      };
      routes.set(key, route);
    }
    return route;
  };
  return async (server, method, params, origin, timeoutMs, input) => {
    // Other routed requests (subscribe, unsubscribe…) go straight to the connection.
    if (!GUARDED_REQUESTS.has(method)) return await send(server, method, params, origin, timeoutMs, input);
    const ctx = createCallContext({
      requestId: nextRequestId(),
      route: routeOf(server, method, timeoutMs),
      args: params,
      client: origin.principal ?? origin.sessionId,
      sessionId: origin.sessionId,
      signal: origin.signal,
      origin,
      principal: origin.principal,
      trace: origin.trace,
      input,
      log,
    });
    return (await handler(ctx)) as Record<string, unknown>;
  };
}
