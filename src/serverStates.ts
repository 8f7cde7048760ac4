import type { ServerState } from "./downstream/connection.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { BreakerRegistry } from "./pipeline/middleware/breaker.js";

/** A server's state change: metrics, its breaker (forced open while failed) and one log line. */
export function reportServerState(
  agg: { readonly log: Logger; readonly metrics: Metrics | undefined; readonly breakers: BreakerRegistry },
  server: string,
  state: ServerState,
  reason: string | undefined,
): void {
  const log = agg.log.child({ server });
  agg.metrics?.setServerUp(server, state === "ready");
  if (state === "restarting") agg.metrics?.incRestarts(server);
  if (state === "failed") {
    agg.breakers.forceOpen(server, reason ?? "server failed");
    log.error({ reason }, "server failed");
  } else if (state === "ready") {
    agg.breakers.reset(server);
    log.info("server ready");
  } else if (state === "restarting") {
    log.warn({ reason }, "server restarting");
  }
}
