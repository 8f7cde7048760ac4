import type { ServerState } from "./downstream/connection.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { BreakerRegistry, BreakerState } from "./pipeline/middleware/breaker.js";

/** A breaker changed state (this replica's, or in cluster mode another's): log line and gauge. */
export function reportBreakerState(
  agg: { readonly log: Logger; readonly metrics: Metrics | undefined },
  server: string,
  state: BreakerState,
): void {
  agg.log.info({ server, breaker: state }, "breaker state changed");
  agg.metrics?.setBreaker(server, state);
}

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
