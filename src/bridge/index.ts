import type { Aggregator } from "../aggregator.js";
import type { EnvSource } from "../config/expand.js";
import type { RequestSender } from "../pipeline/requests.js";
import { Bridge } from "./bridge.js";
import { HeldCalls } from "./held.js";
import { resolveStateKey, StateCodecs } from "./state.js";
import { TaskIds } from "../extensions/tasks.js";
import { hkdfSync } from "node:crypto";

export { Bridge } from "./bridge.js";
export type { BridgeState } from "./state.js";

/**
 * The aggregator's bridge: its requestState key (the `requestStateKey` option, AUTONOMOUS_MCP_STATE_KEY,
 * `security.requestStateKey`, else random per process), codecs and held-call table.
 */
export function createBridge(
  agg: Pick<Aggregator, "config" | "isolation" | "router" | "log" | "serverOf">,
  options: { readonly requestStateKey?: Uint8Array | undefined; readonly env?: EnvSource | undefined },
  /** The guarded routed-request path (pipeline/requests.ts). */
  requests: RequestSender,
  /** Aborted at shutdown: the held calls are cancelled. */
  shutdown: AbortSignal,
): Bridge {
  const { security, bridge } = agg.config.config;
  const { key, source } = resolveStateKey(
    options.requestStateKey,
    security.requestStateKey,
    options.env ?? process.env,
  );
  agg.log.debug({ requestStateKey: source }, "requestState key");
  const held = new HeldCalls(bridge.maxHeldCalls, bridge.heldCallTimeoutMs);
  shutdown.addEventListener("abort", () => held.abortAll(shutdown.reason), { once: true });
  return new Bridge({
    catalog: (sessionId) => agg.isolation.catalogFor(sessionId),
    callTool: (name, args, origin, input) => agg.router.callTool(name, args, origin, input),
    forward: (s, method, params, origin, input) =>
      requests(s, method, params, origin, agg.serverOf(s).timeoutMs, input),
    codecs: new StateCodecs(key, security.requestStateTtlMs),
    held,
    // A key of its own, derived from the requestState key: one shared key seals both on every replica.
    taskIds: new TaskIds(
      new Uint8Array(hkdfSync("sha256", key, new Uint8Array(0), "autonomous-mcp task ids", 32)),
    ),
  });
}
