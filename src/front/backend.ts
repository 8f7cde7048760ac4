import type { CallSpan } from "../telemetry/span.js";
import type {
  CacheHint,
  CallToolResult,
  ClientCapabilities,
  LoggingLevel,
  ServerCapabilities,
  Implementation,
} from "@modelcontextprotocol/server";
import type { Catalog } from "../catalog/catalog.js";
import type { CallBudget } from "../workflows/limits.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import type { ServerEventBus } from "./events.js";
import { ANONYMOUS } from "./principals.js";

/** Sends a request to the front client of this call (the SDK's extra.sendRequest, schema-free). */
export type ClientRequester = (
  request: { method: string; params?: unknown },
  signal: AbortSignal,
) => Promise<Record<string, unknown>>;

/** Who made a call, so that server→client requests and progress go back to the right client. */
export interface CallOrigin {
  readonly sessionId: string;
  /**
   * The HTTP principal that made the call (a name from the config, "default" or "anonymous"); none on
   * stdio. The limiter queues are fair per client (see CallContext.client).
   */
  readonly principal?: string | undefined;
  /** The call's cancellation (client cancel, a closed stream, a workflow step's abort). */
  readonly signal: AbortSignal;
  readonly clientCapabilities: ClientCapabilities | undefined;
  readonly progressToken?: string | number | undefined;
  readonly meta?: Record<string, unknown> | undefined;
  readonly sendProgress?: ((progress: number, total?: number, message?: string) => void) | undefined;
  readonly requestClient?: ClientRequester | undefined;
  /** Set on the calls of a workflow run: a nested workflow spends the same call budget. */
  readonly workflowBudget?: CallBudget | undefined;
  /** The span of the request (telemetry.inbound) or workflow step: the parent of the downstream hops' spans. */
  readonly trace?: CallSpan | undefined;
}

/** Everything a front session needs from the aggregator; front/ never touches downstreams itself. */
export interface FrontBackend {
  readonly serverInfo: Implementation;
  readonly instructions?: string | undefined;
  /** Traces and operation metrics of inbound requests (src/telemetry; no-op spans while off). */
  readonly telemetry?: Telemetry | undefined;
  /** The catalog (with `sessionId`: the one that session sees; per-client servers may list more to it). */
  catalog(sessionId?: string): Catalog;
  /** Change events for 2026-07-28 clients' `subscriptions/listen` streams (src/front/events.ts). */
  readonly events?: ServerEventBus | undefined;
  /** `ttlMs` / `cacheScope` of the list results a 2026-07-28 client gets, from what the catalog knows. */
  listCacheHint?(sessionId: string): CacheHint;
  /** Before a session lists tools: its per-client connections are made, so their lists are its own. */
  prepareSession?(sessionId: string): Promise<void>;
  capabilities(): ServerCapabilities;
  callTool(name: string, args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult>;
  /** Any routed request (resources/read, prompts/get, completion/complete, subscribe...). Result verbatim. */
  forward(
    server: string,
    method: string,
    params: Record<string, unknown>,
    origin: CallOrigin,
  ): Promise<Record<string, unknown>>;
  subscribe(uri: string, sessionId: string): Promise<void>;
  unsubscribe(uri: string, sessionId: string): Promise<void>;
  /** Fan-out requests to every server that supports them. */
  broadcast(method: string, params: Record<string, unknown>, capability: "logging"): Promise<void>;
  /** logging/setLevel of one session (its own connections; shared ones get the most verbose level asked). */
  setLogLevel?(sessionId: string, level: LoggingLevel): Promise<void>;
  /** The session's client changed its roots: tell the downstreams that asked it for them. */
  rootsChanged(sessionId?: string): void;
  sessionOpened(session: FrontSessionHandle): void;
  sessionClosed(sessionId: string): void;
}

/** What the aggregator may do to one front session. */
export interface FrontSessionHandle {
  readonly id: string;
  clientCapabilities(): ClientCapabilities | undefined;
  notifyListChanged(kind: "tools" | "resources" | "prompts"): void;
  notifyResourceUpdated(uri: string): void;
  sendLog(params: Record<string, unknown>): void;
  isSubscribed(uri: string): boolean;
  /** A server→client request for a call that is not in flight any more (fallback routing). */
  request(
    request: { method: string; params?: unknown },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
}

/**
 * Who a call is for, as the limiter's fair queue sees it: the authenticated principal, else the
 * session (the unauthenticated "anonymous" principal is every tokenless client, so per session there).
 */
export function clientKey(origin: CallOrigin): string {
  const p = origin.principal;
  return p !== undefined && p !== ANONYMOUS ? p : origin.sessionId;
}

/** The origin of a request the aggregator makes for a session itself (resources/subscribe on its behalf). */
export function internalOrigin(sessionId: string): CallOrigin {
  return { sessionId, signal: new AbortController().signal, clientCapabilities: undefined };
}
