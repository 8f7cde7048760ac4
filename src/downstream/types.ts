import type { ClientCapabilities, Implementation } from "@modelcontextprotocol/client";
import type { Logger } from "../logger.js";
import type { RestartPolicy } from "./backoff.js";
import type { CreatedTransport, TransportSpec } from "./transports.js";
import type { VerdictCache } from "./verdicts.js";

export type ServerState = "starting" | "ready" | "restarting" | "failed" | "stopped";

export interface ConnectionSettings extends TransportSpec {
  readonly connectTimeoutMs: number;
  readonly restart: RestartPolicy;
  readonly healthCheckIntervalMs: number;
}

export type ServerRequestKind = "sampling" | "elicitation" | "roots";

/** What the connection tells the rest of the aggregator; all optional so tests wire only what they need. */
export interface ConnectionHooks {
  onStateChange?(server: string, state: ServerState, reason?: string): void;
  onCatalogChanged?(server: string): void;
  onResourceUpdated?(server: string, uri: string): void;
  onLog?(server: string, params: Record<string, unknown>): void;
  onHealthFailure?(server: string, error: unknown): void;
  /** A server→client request (sampling, elicitation, roots) to relay to a front client. */
  onServerRequest?(
    server: string,
    kind: ServerRequestKind,
    request: { method: string; params?: unknown },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

export interface ConnectionDeps {
  readonly log: Logger;
  readonly clientInfo: Implementation;
  /** Capabilities we declare downstream (sampling/elicitation/roots only when our front client has them). */
  readonly clientCapabilities: () => ClientCapabilities;
  readonly hooks: ConnectionHooks;
  readonly now?: () => number;
  /** Era verdicts shared with other connections to the same servers (default: this connection's own). */
  readonly verdicts?: VerdictCache;
  /** A transport already started for this server (pre-spawned by the CLI), used once. */
  readonly takePrespawned?: (server: string) => CreatedTransport | undefined;
}

export interface ForwardOptions {
  /** The call's cancellation: aborts the request (and any wait for a reconnect before it). */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly maxTotalTimeoutMs?: number | undefined;
  readonly onprogress?: ((p: { progress: number; total?: number; message?: string }) => void) | undefined;
  /**
   * A front client's own tools/call, prompts/get or resources/read (the bridge, src/bridge/): a modern
   * server's `input_required` answer is handed back instead of fulfilled here, and a retry carries the
   * client's inputResponses and the server's own requestState. Ignored by 2025-era servers.
   */
  readonly input?: DownstreamInput | undefined;
}

/** What a bridged request adds for a modern (2026-07-28) server; see ForwardOptions.input. */
export interface DownstreamInput {
  /** The calling client's answers to the server's inputRequests (a retry). */
  readonly responses?: Record<string, unknown> | undefined;
  /** The server's own requestState, echoed back byte for byte (a retry). */
  readonly state?: string | undefined;
  /**
   * The calling client's sampling / elicitation / roots capabilities, declared on this request's
   * envelope so the server asks only for what that client can give (or answers -32021).
   */
  readonly capabilities?: ClientCapabilities | undefined;
}
