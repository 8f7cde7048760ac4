import { Client } from "@modelcontextprotocol/client";
import { errorMessage } from "../errors.js";
import type { ConnectionDeps, ServerRequestKind } from "./connection.js";
import type { ListKind } from "./listing.js";

/**
 * One SDK Client for a downstream: declares sampling / elicitation / roots only when we relay them,
 * relays those requests, and wires list_changed, resources/updated and log messages to the hooks.
 */
export function createDownstreamClient(
  server: string,
  deps: ConnectionDeps,
  refresh: (kind: ListKind) => void,
): Client {
  const capabilities = deps.clientCapabilities();
  const client = new Client(
    { name: deps.clientInfo.name, version: deps.clientInfo.version },
    { capabilities },
  );
  const hooks = deps.hooks;
  const relay =
    (kind: ServerRequestKind) =>
    async (request: { method: string; params?: unknown }, ctx: { mcpReq: { signal: AbortSignal } }) => {
      if (!hooks.onServerRequest) throw new Error(`${kind} is not available`);
      return hooks.onServerRequest(server, kind, request, ctx.mcpReq.signal) as never;
    };
  if (capabilities.sampling) client.setRequestHandler("sampling/createMessage", relay("sampling"));
  if (capabilities.elicitation) client.setRequestHandler("elicitation/create", relay("elicitation"));
  if (capabilities.roots) client.setRequestHandler("roots/list", relay("roots"));
  client.setNotificationHandler("notifications/tools/list_changed", () => refresh("tools"));
  client.setNotificationHandler("notifications/resources/list_changed", () => refresh("resources"));
  client.setNotificationHandler("notifications/prompts/list_changed", () => refresh("prompts"));
  client.setNotificationHandler("notifications/resources/updated", (n) =>
    hooks.onResourceUpdated?.(server, n.params.uri),
  );
  client.setNotificationHandler("notifications/message", (n) => hooks.onLog?.(server, n.params));
  client.onerror = (error) => deps.log.debug({ err: errorMessage(error) }, "downstream protocol error");
  return client;
}
