import {
  ProtocolErrorCode,
  type CallToolResult,
  type Tool,
  ProtocolError,
} from "@modelcontextprotocol/server";
import type { Catalog, ToolTarget } from "./catalog/catalog.js";
import { isAggregatorError } from "./errors.js";
import { clientKey, type CallOrigin } from "./front/backend.js";
import { toolErrorToResult } from "./front/errorMap.js";
import type { Logger } from "./logger.js";
import type { MetaTool } from "./meta/types.js";
import { createCallContext, requestIds } from "./pipeline/context.js";
import type { Handler, ToolRoute } from "./pipeline/types.js";
import type { RequestRelay } from "./relay.js";
import type { DownstreamInput } from "./downstream/types.js";

export interface WorkflowExecutor {
  /** `requestId`: the workflow call's request id (the router's), for the run's logs. */
  run(
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    requestId?: string,
  ): Promise<CallToolResult>;
}

export interface RouterDeps {
  /** The catalog a client session sees (its own when per-client connections changed its tool list). */
  readonly catalog: (sessionId: string) => Catalog;
  readonly pipeline: Handler;
  readonly meta: ReadonlyMap<string, MetaTool>;
  readonly workflows: () => WorkflowExecutor | undefined;
  readonly relay: RequestRelay;
  readonly log: Logger;
  /**
   * A name that is no tool: undefined if no configured server would serve it; else a promise that
   * resolves once that server is ready (the name is resolved again) or rejects with the reason.
   */
  readonly unlisted?: (name: string, origin: CallOrigin) => Promise<void> | undefined;
  /**
   * A tool unknown to the session: may make the session's per-client connections (a client that declared
   * sampling/elicitation/roots and called before listing); true when that may have changed its catalog.
   */
  readonly prepare?: (sessionId: string) => Promise<boolean>;
  /**
   * Wraps the handler of meta-tool and workflow calls in the layers they share with downstream calls
   * (observe, validate: build.ts buildLocalPipeline). Without it they are called directly.
   */
  readonly local?: (dispatch: Handler) => Handler;
  /**
   * The aggregator's one request-id source (pipeline/context.ts requestIds), shared with the routed-request
   * path; default: a source of the router's own.
   */
  readonly requestIds?: (() => string) | undefined;
  /**
   * A call found no usable OAuth token (AUTH_REQUIRED): asks the calling client to sign in, within
   * `deadlineMs`; true once it has, and the call is made once more (src/oauth/signIn.ts).
   */
  readonly signIn?: (server: string, origin: CallOrigin, deadlineMs: number) => Promise<boolean>;
}

/** The pseudo-server meta-tool and workflow calls are counted under (stats, `status`, metrics). */
export const AGGREGATOR_SERVER = "autonomous-mcp";

type LocalTarget = { readonly kind: "meta" | "workflow"; readonly name: string; readonly definition: Tool };

/** Public tool name → downstream (through the pipeline), meta-tool or workflow. Never parses names. */
export class Router {
  private readonly nextRequestId: () => string;

  /** One route per meta-tool / workflow definition (validate compiles per route object). */
  private readonly localRoutes = new WeakMap<Tool, ToolRoute>();
  private readonly localTargets = new WeakMap<ToolRoute, LocalTarget>();
  private readonly local: Handler;
  /** Calls already retried after a sign-in: a second AUTH_REQUIRED is their answer. */
  private readonly signedIn = new WeakSet<CallOrigin>();

  constructor(private readonly deps: RouterDeps) {
    this.local = deps.local ? deps.local(this.dispatch) : this.dispatch;
    this.nextRequestId = deps.requestIds ?? requestIds();
  }

  /**
   * Never throws: an unknown tool or a failed call is a rejection or an isError result. The call's request
   * id is made here (one per call: every layer logs it, observe records it).
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    /** A front client's own call (the bridge, src/bridge/): a modern server's input_required comes back. */
    input?: DownstreamInput,
  ): Promise<CallToolResult> {
    const target = this.deps.catalog(origin.sessionId).resolveTool(name);
    if (target?.kind !== "downstream") return await this.callOther(target, name, args, origin, input);
    const ctx = createCallContext({
      requestId: this.nextRequestId(),
      route: target.route,
      args,
      client: clientKey(origin),
      sessionId: origin.sessionId,
      signal: origin.signal,
      onProgress: origin.sendProgress
        ? (p) => origin.sendProgress?.(p.progress, p.total, p.message)
        : undefined,
      meta: origin.meta,
      principal: origin.principal,
      trace: origin.trace,
      input,
      log: this.deps.log,
    });
    const relay = this.deps.relay;
    const server = target.route.server;
    relay.track(server, origin);
    try {
      return await this.deps.pipeline(ctx);
    } catch (error) {
      if (isAggregatorError(error) && error.code === "AUTH_REQUIRED")
        return await this.afterSignIn(error, name, args, origin, target.route);
      return toolErrorToResult(error, name);
    } finally {
      relay.untrack(server, origin);
    }
  }

  /**
   * No usable OAuth token: the caller is asked to sign in (when it can be) and the call is made once more
   * once it has; otherwise, or on a second AUTH_REQUIRED, the isError naming `autonomous-mcp login`.
   */
  private async afterSignIn(
    error: unknown,
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    route: ToolRoute,
  ): Promise<CallToolResult> {
    const signIn = this.deps.signIn;
    if (!signIn || this.signedIn.has(origin)) return toolErrorToResult(error, name);
    if (!(await signIn(route.server, origin, route.policy.totalTimeoutMs)))
      return toolErrorToResult(error, name);
    this.signedIn.add(origin);
    return this.callTool(name, args, origin);
  }

  private async callOther(
    target: Exclude<ToolTarget, { kind: "downstream" }> | undefined,
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    input: DownstreamInput | undefined,
  ): Promise<CallToolResult> {
    if (!target) {
      // Per-client connections may add tools for this session (made on its first use); then a server
      // that is configured but not listed (skipped, disabled, starting, failed) answers why.
      if (await this.deps.prepare?.(origin.sessionId)) return this.callTool(name, args, origin, input);
      const waiting = this.deps.unlisted?.(name, origin);
      if (!waiting) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      try {
        await waiting;
      } catch (error) {
        return toolErrorToResult(error, name);
      }
      const late = this.deps.catalog(origin.sessionId).resolveTool(name);
      if (!late) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      return this.callTool(name, args, origin, input);
    }
    if (target.kind === "meta" ? !this.deps.meta.has(target.name) : !this.deps.workflows())
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const route = this.localRoute(target);
    return await this.local(
      createCallContext({
        requestId: this.nextRequestId(),
        route,
        args,
        client: clientKey(origin),
        sessionId: origin.sessionId,
        signal: origin.signal,
        origin,
        principal: origin.principal,
        trace: origin.trace,
        log: this.deps.log,
      }),
    );
  }

  private localRoute(target: LocalTarget): ToolRoute {
    let route = this.localRoutes.get(target.definition);
    if (!route) {
      const a = target.definition.annotations;
      const hints = {
        readOnly: a?.readOnlyHint === true,
        idempotent: a?.idempotentHint === true,
        destructive: a?.destructiveHint === true,
      };
      route = {
        publicName: target.definition.name,
        server: AGGREGATOR_SERVER,
        originalName: target.name,
        inputSchema: target.definition.inputSchema,
        policy: { hints, retrySafe: false, timeoutMs: 0, totalTimeoutMs: 0, cacheTtlMs: 0 },
      };
      this.localRoutes.set(target.definition, route);
      this.localTargets.set(route, target);
    }
    return route;
  }

  /** The last step of a meta-tool or workflow call (after observe and validate). */
  private readonly dispatch: Handler = async (ctx) => {
    const target = this.localTargets.get(ctx.route);
    const origin = ctx.origin;
    if (!target || !origin) throw new Error(`no local tool behind ${ctx.route.publicName}`);
    if (target.kind === "meta") {
      const meta = this.deps.meta.get(target.name);
      if (!meta)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${ctx.route.publicName}`);
      return await meta.call(ctx.args, origin, ctx.requestId);
    }
    const executor = this.deps.workflows();
    if (!executor)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${ctx.route.publicName}`);
    return await executor.run(target.name, ctx.args, origin, ctx.requestId);
  };
}
