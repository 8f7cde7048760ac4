import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallPlacement } from "./aggregatorOptions.js";
import type { CallOrigin } from "./front/backend.js";
import type { ClientIsolation } from "./isolation.js";
import type { Router } from "./router.js";

export type Args = Record<string, unknown>;

/** A tools/call's result from the replica it must run on, or undefined to run it here. */
export type Placer = (
  name: string,
  args: Record<string, unknown>,
  origin: CallOrigin,
) => Promise<CallToolResult> | undefined;

/**
 * Cluster mode (AggregatorOptions.placement): only calls routed to a downstream are placed; `parts` is read
 * at each call (the aggregator's isolation and router are made after it).
 */
export function placer(
  placement: CallPlacement,
  parts: () => {
    readonly isolation: Pick<ClientIsolation, "catalogFor">;
    readonly router: Pick<Router, "callTool">;
  },
): Placer {
  return (name, args, origin) => {
    const { isolation, router } = parts();
    const target = isolation.catalogFor(origin.sessionId).resolveTool(name);
    if (target?.kind !== "downstream") return undefined;
    const { server, policy } = target.route;
    return placement({ server, write: !policy.hints.readOnly, name, args, origin }, () =>
      router.callTool(name, args, origin),
    );
  };
}
