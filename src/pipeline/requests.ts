import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { CallOrigin } from "../front/backend.js";
import type { Logger } from "../logger.js";
import { fromSignal } from "./cancel.js";
import { invoke } from "./compose.js";
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
) => Promise<Record<string, unknown>>;

/**
 * Any routed request to a downstream; the GUARDED_REQUESTS as a pipeline call: ctx.route names the server and the method (read-only, so a
 * serializeWrites server runs it beside a write); the result is handed back untouched.
 */
export function createRequestPath(
  wrap: (send: Handler) => Handler,
  target: { forward: RequestSender },
  log: Logger,
): RequestSender {
  const send: RequestSender = (...a) => target.forward(...a);
  const routes = new Map<string, ToolRoute>();
  const handler = wrap((ctx) => {
    const origin = ctx.origin as CallOrigin;
    const { server, originalName: method } = ctx.route;
    // ctx.cancel is the deadline layer's (caller's cancel + shutdown); `signal` stays the caller's.
    return send(server, method, ctx.args, { ...origin, cancel: ctx.cancel }, ctx.attemptTimeoutMs) as Promise<
      Record<string, unknown>
    > as unknown as Promise<CallToolResult>;
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
  let seq = 0;
  return (server, method, params, origin, timeoutMs) => {
    // Other routed requests (subscribe, unsubscribe…) go straight to the connection.
    if (!GUARDED_REQUESTS.has(method)) return send(server, method, params, origin, timeoutMs);
    return invoke(handler, {
      requestId: `q${++seq}`,
      route: routeOf(server, method, timeoutMs),
      args: params,
      client: origin.principal ?? origin.sessionId,
      sessionId: origin.sessionId,
      cancel: origin.cancel ?? fromSignal(origin.signal),
      origin,
      principal: origin.principal,
      trace: origin.trace,
      log,
      attempt: 0,
      attemptTimeoutMs: timeoutMs,
      deadlineAt: 0,
      notes: {},
    }) as unknown as Promise<Record<string, unknown>>;
  };
}
