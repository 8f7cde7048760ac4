import { wireError } from "./errors.js";
import { ErrorCode, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { randomUUID } from "node:crypto";
import type { Catalog, ToolTarget } from "./catalog/catalog.js";
import { clientKey, type CallOrigin } from "./front/backend.js";
import { toolErrorToResult } from "./front/errorMap.js";
import type { Logger } from "./logger.js";
import type { MetaTool } from "./meta/types.js";
import { fromSignal } from "./pipeline/cancel.js";
import { invoke } from "./pipeline/compose.js";
import type { CallContext, Handler, ToolRoute } from "./pipeline/types.js";
import type { RequestRelay } from "./relay.js";

export interface WorkflowExecutor {
  run(name: string, args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult>;
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
}

/** The pseudo-server meta-tool and workflow calls are counted under (stats, `status`, metrics). */
export const AGGREGATOR_SERVER = "autonomous-mcp";

type LocalTarget = { readonly kind: "meta" | "workflow"; readonly name: string; readonly definition: Tool };

/** Public tool name → downstream (through the pipeline), meta-tool or workflow. Never parses names. */
export class Router {
  private seq = 0;
  private readonly prefix = randomUUID().slice(0, 8);

  /** One route per meta-tool / workflow definition (validate compiles per route object). */
  private readonly localRoutes = new WeakMap<Tool, ToolRoute>();
  private readonly localTargets = new WeakMap<ToolRoute, LocalTarget>();
  private readonly local: Handler;

  constructor(private readonly deps: RouterDeps) {
    this.local = deps.local ? deps.local(this.dispatch) : this.dispatch;
  }

  /** Never throws: an unknown tool or a failed call is a rejection or an isError result. */
  callTool(name: string, args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult> {
    const target = this.deps.catalog(origin.sessionId).resolveTool(name);
    if (target?.kind !== "downstream") return this.callOther(target, name, args, origin);
    const ctx: CallContext = {
      requestId: `${this.prefix}-${++this.seq}`,
      route: target.route,
      args,
      client: clientKey(origin),
      sessionId: origin.sessionId,
      cancel: origin.cancel ?? fromSignal(origin.signal),
      onProgress: origin.sendProgress
        ? (p) => origin.sendProgress?.(p.progress, p.total, p.message)
        : undefined,
      meta: origin.meta,
      principal: origin.principal,
      trace: origin.trace,
      log: this.deps.log,
      attempt: 0,
      attemptTimeoutMs: target.route.policy.timeoutMs,
      deadlineAt: 0,
      notes: {},
    };
    const relay = this.deps.relay;
    const server = target.route.server;
    relay.track(server, origin);
    // Not async: the downstream call settles through one `.then` (the hot path of every tools/call).
    return invoke(this.deps.pipeline, ctx).then(
      (result) => {
        relay.untrack(server, origin);
        return result;
      },
      (error: unknown) => {
        relay.untrack(server, origin);
        return toolErrorToResult(error, name);
      },
    );
  }

  private async callOther(
    target: Exclude<ToolTarget, { kind: "downstream" }> | undefined,
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
  ): Promise<CallToolResult> {
    if (!target) {
      // Per-client connections may add tools for this session (made on its first use); then a server
      // that is configured but not listed (skipped, disabled, starting, failed) answers why.
      if (await this.deps.prepare?.(origin.sessionId)) return this.callTool(name, args, origin);
      const waiting = this.deps.unlisted?.(name, origin);
      if (!waiting) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      try {
        await waiting;
      } catch (error) {
        return toolErrorToResult(error, name);
      }
      const late = this.deps.catalog(origin.sessionId).resolveTool(name);
      if (!late) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      return this.callTool(name, args, origin);
    }
    if (target.kind === "meta" ? !this.deps.meta.has(target.name) : !this.deps.workflows())
      throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const route = this.localRoute(target);
    return invoke(this.local, {
      requestId: `${this.prefix}-${++this.seq}`,
      route,
      args,
      client: clientKey(origin),
      sessionId: origin.sessionId,
      cancel: origin.cancel ?? fromSignal(origin.signal),
      origin,
      principal: origin.principal,
      trace: origin.trace,
      log: this.deps.log,
      attempt: 0,
      attemptTimeoutMs: 0,
      deadlineAt: 0,
      notes: {},
    });
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
  private readonly dispatch: Handler = (ctx) => {
    const target = this.localTargets.get(ctx.route);
    const origin = ctx.origin;
    if (!target || !origin) throw new Error(`no local tool behind ${ctx.route.publicName}`);
    if (target.kind === "meta") {
      const meta = this.deps.meta.get(target.name);
      if (!meta) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${ctx.route.publicName}`);
      return meta.call(ctx.args, origin);
    }
    const executor = this.deps.workflows();
    if (!executor) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${ctx.route.publicName}`);
    return executor.run(target.name, ctx.args, origin);
  };
}
