import type { Client, ServerCapabilities } from "@modelcontextprotocol/client";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";

/** Wait before opening a dropped subscription stream again, ms. */
const RELISTEN_DELAY_MS = 1_000;

/**
 * A modern (2026-07-28) server sends list_changed only on a `subscriptions/listen` stream the client
 * opens: this opens one for the lists the server says change, so its notifications reach the same
 * handlers a 2025-era server's unsolicited ones do (client.ts), and opens it again when it drops while
 * the connection is still current. A server that refuses the stream still serves everything else.
 */
export function listenForChanges(
  client: Client,
  capabilities: ServerCapabilities | undefined,
  isCurrent: () => boolean,
  log: Logger,
): void {
  const filter = {
    ...(capabilities?.tools?.listChanged ? { toolsListChanged: true as const } : {}),
    ...(capabilities?.prompts?.listChanged ? { promptsListChanged: true as const } : {}),
    ...(capabilities?.resources?.listChanged ? { resourcesListChanged: true as const } : {}),
  };
  if (Object.keys(filter).length === 0) return;
  const open = (): void => {
    if (!isCurrent()) return;
    client.listen(filter).then(
      (subscription) =>
        void subscription.closed.then((reason) => {
          if (reason !== "remote" || !isCurrent()) return;
          log.debug("the server's subscription stream dropped; listening again");
          setTimeout(open, RELISTEN_DELAY_MS).unref();
        }),
      (error: unknown) =>
        log.warn(
          { err: errorMessage(error) },
          "the server refused a subscription stream: its list changes are not seen",
        ),
    );
  };
  open();
}
