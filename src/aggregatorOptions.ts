import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Aggregator } from "./aggregator.js";
import type { ClusterState } from "./cluster/connection.js";
import type { SharedState } from "./pipeline/shared.js";
import type { BuiltinTool } from "./catalog/catalog.js";
import type { ServerState } from "./downstream/connection.js";
import type { CreatedTransport } from "./downstream/transports.js";
import type { CallOrigin } from "./front/backend.js";
import type { ServerEventBus } from "./front/events.js";
import type { Logger } from "./logger.js";
import type { OAuthSessions } from "./oauth/session.js";
import type { MetaTool } from "./meta/types.js";
import type { Metrics } from "./metrics.js";
import type { WorkflowExecutor } from "./router.js";
import type { WorkflowObserver } from "./workflows/register.js";

/** What the workflow host offers the aggregator (src/workflows/register.ts). */
export interface WorkflowHostLike extends WorkflowExecutor {
  /** The workflows served as tools, as of the last refresh. */
  readonly tools: readonly BuiltinTool[];
  refresh(): void;
  setDefinitions(definitions: Readonly<Record<string, unknown>>): void;
  /** Told of each workflow run and its steps (the dashboard). */
  observer: WorkflowObserver | undefined;
}

export interface AggregatorOptions {
  readonly log: Logger;
  readonly pageSize?: number;
  readonly prespawned?: Map<string, CreatedTransport>;
  /** OAuth sessions of http servers with `auth` (default: tokens from the user's store, src/oauth/store.ts). */
  readonly oauth?: OAuthSessions | undefined;
  /** Prometheus metrics (HTTP front); absent in stdio mode. */
  readonly metrics?: Metrics | undefined;
  /**
   * Cluster mode: where a tools/call routed to `server` runs. Undefined: here, as always; else its result
   * from the replica that owns the server (src/cluster/owners.ts), or `here()` once it turns out to be this one.
   */
  readonly placement?: CallPlacement | undefined;
  /**
   * Where change events for 2026-07-28 clients' subscriptions/listen streams go (src/front/events.ts);
   * default an in-process bus. Several replicas share one (over Redis) so a change seen by one reaches
   * the listen streams of all.
   */
  readonly bus?: ServerEventBus | undefined;
  /** Told as each server's first start settles (the CLI's progress line). */
  readonly onServerSettled?: ((server: string, state: ServerState) => void) | undefined;
  /** Cluster mode: this replica's Redis connections (src/cluster/); absent in embedded mode. */
  readonly cluster?: ClusterState | undefined;
  /** Cluster mode: the pipeline's state in Redis (src/cluster/stores.ts). Default: in this process. */
  readonly shared?: SharedState | undefined;
  /**
   * The key requestState is sealed with (at least 32 bytes; cluster mode passes one shared by every
   * replica). Default: AUTONOMOUS_MCP_STATE_KEY, else `security.requestStateKey`, else random per process.
   */
  readonly requestStateKey?: Uint8Array | undefined;
  /** Where AUTONOMOUS_MCP_STATE_KEY and `${VAR}` in `security.requestStateKey` are looked up. Default process.env. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * The aggregator's own tools and its workflow host, made from the aggregator while it is built
   * (src/compose.ts): they call back into its router and read its catalog.
   */
  readonly extensions?:
    ((agg: Aggregator) => { meta?: readonly MetaTool[]; workflows?: WorkflowHostLike }) | undefined;
}

/** See AggregatorOptions.placement. Called synchronously on every tools/call to a downstream. */
export type CallPlacement = (
  call: {
    readonly server: string;
    /** Not annotated read-only. */
    readonly write: boolean;
    readonly name: string;
    readonly args: Record<string, unknown>;
    readonly origin: CallOrigin;
  },
  here: () => Promise<CallToolResult>,
) => Promise<CallToolResult> | undefined;
