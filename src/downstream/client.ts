import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "../errors.js";
import { LazyJsonSchemaValidator } from "../lazyValidator.js";
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
    { capabilities, jsonSchemaValidator: new LazyJsonSchemaValidator() },
  );
  const hooks = deps.hooks;
  const relay =
    (kind: ServerRequestKind) =>
    async (request: { method: string; params?: unknown }, extra: { signal: AbortSignal }) => {
      if (!hooks.onServerRequest) throw new Error(`${kind} is not available`);
      return hooks.onServerRequest(server, kind, request, extra.signal) as never;
    };
  if (capabilities.sampling) client.setRequestHandler(CreateMessageRequestSchema, relay("sampling"));
  if (capabilities.elicitation) client.setRequestHandler(ElicitRequestSchema, relay("elicitation"));
  if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, relay("roots"));
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => refresh("tools"));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => refresh("resources"));
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => refresh("prompts"));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
    hooks.onResourceUpdated?.(server, n.params.uri),
  );
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => hooks.onLog?.(server, n.params));
  client.onerror = (error) => deps.log.debug({ err: errorMessage(error) }, "downstream protocol error");
  return client;
}
