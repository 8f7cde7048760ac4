import { Client } from "@modelcontextprotocol/client";
import { errorMessage } from "../errors.js";
import type { ConnectionDeps, ConnectionSettings, ServerRequestKind } from "./connection.js";
import type { ListKind } from "./listing.js";

/**
 * stdio: how long the server/discover probe waits before taking silence for a legacy server (then
 * `initialize` follows on the same pipe). HTTP probes wait the whole connectTimeoutMs: silence there is
 * an outage, not a generation.
 */
export const STDIO_PROBE_TIMEOUT_MS = 5_000;

/**
 * One SDK Client for a downstream, speaking either generation: declares sampling / elicitation / roots
 * only when we relay them, relays those requests, and wires list_changed, resources/updated and log
 * messages to the hooks.
 */
export function createDownstreamClient(
  settings: ConnectionSettings,
  deps: ConnectionDeps,
  refresh: (kind: ListKind) => void,
): Client {
  const server = settings.name;
  const probeTimeoutMs =
    settings.type === "stdio" ? Math.min(STDIO_PROBE_TIMEOUT_MS, settings.connectTimeoutMs) : undefined;
  const capabilities = deps.clientCapabilities();
  const client = new Client(
    { name: deps.clientInfo.name, version: deps.clientInfo.version },
    {
      capabilities,
      // Both generations: server/discover first, initialize when the server is a 2025-era one. Used
      // only for a server's first connect; the verdict is reused after it (verdicts.ts).
      // The SSE transport is 2025-era only: nothing to probe there.
      versionNegotiation: {
        mode: settings.type === "sse" ? "legacy" : "auto",
        ...(probeTimeoutMs === undefined ? {} : { probe: { timeoutMs: probeTimeoutMs } }),
      },
    },
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
