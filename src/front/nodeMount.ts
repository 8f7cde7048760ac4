import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { AuthInfo } from "@modelcontextprotocol/server";
import { requestIdOf } from "./httpErrors.js";

/** What the SDK's web-standard entries take beside the request (`handleRequest`, `fetch`). */
export interface WebHandlerContext {
  readonly parsedBody?: unknown;
  readonly authInfo?: AuthInfo;
}

/**
 * A web-standard MCP handler: the session transport's `handleRequest`, `createMcpHandler`'s `fetch`. It
 * may answer on `res` itself and return hono's RESPONSE_ALREADY_SENT (front/jsonAnswer.ts).
 */
export type WebHandler = (
  request: Request,
  context: WebHandlerContext,
  res: ServerResponse,
) => Promise<Response>;

/** Serves one Node request whose body the front has read and screened (`body`: undefined without one). */
export type NodeMount = (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;

/**
 * Mounts an SDK web-standard handler on Node's http for both eras of the HTTP front (docs/adr/0019), as the
 * SDK's `NodeStreamableHTTPServerTransport` mounts its transport: `@hono/node-server`'s request listener,
 * whose web `Request` is built lazily from the Node request. Three things are added:
 * - an event-stream answer is declared chunked (HTTP/1.1), so the listener writes its head and each event
 *   as they come; without it the listener holds every stream back a timer turn (≥ 1 ms) after its first
 *   event, hoping for a short body's end (+1.1 ms p50 on every 2025 answer). The SDK's other adapter,
 *   `toNodeHandler`, does not wait but builds each `Request` eagerly (~80 µs of a POST here);
 * - the body the front already parsed is handed on as `parsedBody`, and `req.auth` as `authInfo`;
 * - a handler that throws is answered 500 with a JSON-RPC error carrying the request's id, as
 *   `toNodeHandler` answers it (the listener's own answer is plain text).
 */
export function mountOnNode(handler: WebHandler, onerror: (error: Error) => void): NodeMount {
  const bodies = new WeakMap<IncomingMessage, unknown>();
  const listener = getRequestListener(
    async (request, env) => {
      const incoming = env.incoming as IncomingMessage & { auth?: AuthInfo };
      const body = bodies.get(incoming);
      let response: Response;
      try {
        response = await handler(
          request,
          { parsedBody: body, authInfo: incoming.auth },
          env.outgoing as ServerResponse,
        );
      } catch (error) {
        onerror(error instanceof Error ? error : new Error(String(error)));
        return Response.json(
          {
            jsonrpc: "2.0",
            error: { code: -32603, message: "Internal server error" },
            id: requestIdOf(body),
          },
          { status: 500 },
        );
      }
      if (incoming.httpVersion === "1.1" && isEventStream(response))
        response.headers.set("transfer-encoding", "chunked");
      return response;
    },
    { overrideGlobalObjects: false },
  );
  return (req, res, body) => {
    if (body !== undefined) bodies.set(req, body);
    return listener(req, res) as Promise<void>;
  };
}

/** Whether a web response is an event stream (SSE). */
export function isEventStream(response: Response): boolean {
  return response.headers.get("content-type")?.startsWith("text/event-stream") === true;
}
