import type { ResolvedServer } from "../config/load.js";
import type { EarlyLogger } from "../deferredLogger.js";
import { profileFor } from "../profiles/index.js";
import { createStdioTransport, type CreatedTransport } from "./transports.js";

/**
 * Starts the stdio servers' processes right after the config is read, so they boot while the rest of
 * the aggregator (the SDK, its schemas) is still loading. Each connection adopts its process on its
 * first start; spawn errors surface there. Imports nothing heavy.
 */
export async function prespawn(
  servers: readonly ResolvedServer[],
  log: EarlyLogger,
): Promise<Map<string, CreatedTransport>> {
  const started = new Map<string, CreatedTransport>();
  const start = (s: ResolvedServer): void => {
    try {
      const created = createStdioTransport(s, log.child({ server: s.name }));
      created.transport.start().catch(() => undefined); // reported when the connection adopts it
      started.set(s.name, created);
    } catch (error) {
      log.debug({ server: s.name, err: String(error) }, "pre-spawn skipped; the server starts normally");
    }
  };
  // Servers without a preparation step are spawned at once, in this turn; the others as soon as their
  // own step is done (never one after another's).
  const preparing: Promise<void>[] = [];
  for (const s of servers) {
    if (s.skipReason !== undefined || s.type !== "stdio" || !s.command) continue;
    const prepare = profileFor(s)?.prepare;
    if (!prepare) start(s);
    else
      preparing.push(
        prepare(s, log).then(
          () => start(s),
          (error: unknown) =>
            log.debug(
              { server: s.name, err: String(error) },
              "pre-spawn skipped; the server starts normally",
            ),
        ),
      );
  }
  await Promise.all(preparing);
  return started;
}
