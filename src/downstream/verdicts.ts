import { SdkError, SdkErrorCode } from "@modelcontextprotocol/client";
import type { Client, PriorDiscovery } from "@modelcontextprotocol/client";
import { isStaleVerdict } from "./classify.js";
import type { TransportSpec } from "./transports.js";

/**
 * Each server's era verdict (docs/protocol-generations.md): the first connect probes with
 * `server/discover` (falling back to `initialize`); every reconnect and restart after it passes the
 * verdict as the v2 Client's `connect(transport, { prior })`, so it is not probed again — a modern
 * server is adopted with zero round trips, a legacy one gets `initialize` at once.
 *
 * A verdict belongs to one endpoint: a reload that changes the server's command, arguments or URL
 * starts over. A connect that fails while using a verdict forgets it (the server may have been
 * upgraded or downgraded meanwhile), so the next attempt probes again.
 */
export class VerdictCache {
  private readonly verdicts = new Map<
    string,
    { readonly endpoint: string; readonly prior: PriorDiscovery }
  >();

  get(server: string, endpoint: string): PriorDiscovery | undefined {
    const kept = this.verdicts.get(server);
    return kept?.endpoint === endpoint ? kept.prior : undefined;
  }

  set(server: string, endpoint: string, prior: PriorDiscovery): void {
    this.verdicts.set(server, { endpoint, prior });
  }

  forget(server: string): void {
    this.verdicts.delete(server);
  }
}

/** What identifies a server's endpoint for its verdict: the command line or the URL. */
export function endpointOf(spec: TransportSpec): string {
  return spec.type === "stdio"
    ? JSON.stringify([spec.command ?? "", ...spec.args])
    : JSON.stringify([spec.type, spec.url ?? ""]);
}

/** The verdict a connected Client reached: modern with the server's DiscoverResult, or legacy. */
export function verdictOf(client: Client): PriorDiscovery {
  const discover = client.getDiscoverResult();
  return client.getProtocolEra() === "modern" && discover ? { kind: "modern", discover } : { kind: "legacy" };
}

/**
 * What a stdio probe that lost its process says (the SDK cannot fall back in place: the pipe is gone).
 * The SDK gives this case no code of its own; test/integration/protocol-verdicts.test.ts ("exits on the
 * probe") fails if an SDK upgrade changes the text.
 */
const CLOSED_IN_PLACE = /connection closed during the server\/discover probe .*probed in place/;

/**
 * After a failed connect: connect again at once? "legacy" when a stdio server exited on the
 * `server/discover` probe (servers on SDKs that end on any request before `initialize` do that: a legacy
 * server, started again for `initialize`); "probe" when a cached verdict turned out stale (the server
 * changed generation: probe again now rather than after a restart delay). Otherwise undefined.
 */
export function reconnectAfter(error: unknown, usedPrior: boolean): "legacy" | "probe" | undefined {
  if (!usedPrior && error instanceof SdkError && error.code === SdkErrorCode.EraNegotiationFailed) {
    return CLOSED_IN_PLACE.test(error.message) ? "legacy" : undefined;
  }
  if (!usedPrior) return undefined;
  if (isStaleVerdict(error)) return "probe";
  // A modern verdict with no version in common any more (connect({ prior }) checks it before sending).
  if (error instanceof SdkError && error.code === SdkErrorCode.EraNegotiationFailed) return "probe";
  return undefined;
}
