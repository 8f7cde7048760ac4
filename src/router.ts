import { wireError } from "./errors.js";
import { ErrorCode, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { randomUUID } from "node:crypto";
import type { Catalog, ToolTarget } from "./catalog/catalog.js";
import type { CallOrigin } from "./front/backend.js";
import { toolErrorToResult } from "./front/errorMap.js";
import type { Logger } from "./logger.js";
import type { MetaTool } from "./meta/types.js";
import { fromSignal } from "./pipeline/cancel.js";
import { invoke } from "./pipeline/compose.js";
import type { CallContext, Handler } from "./pipeline/types.js";
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
   * A tool unknown to the session: may make the session's per-client connections (a client that declared
   * sampling/elicitation/roots and called before listing); true when that may have changed its catalog.
   */
  readonly prepare?: (sessionId: string) => Promise<boolean>;
}

/** Public tool name → downstream (through the pipeline), meta-tool or workflow. Never parses names. */
export class Router {
  private seq = 0;
  private readonly prefix = randomUUID().slice(0, 8);

  constructor(private readonly deps: RouterDeps) {}

  /** Never throws: an unknown tool or a failed call is a rejection or an isError result. */
  callTool(name: string, args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult> {
    const target = this.deps.catalog(origin.sessionId).resolveTool(name);
    if (target?.kind !== "downstream") return this.callOther(target, name, args, origin);
    const ctx: CallContext = {
      requestId: `${this.prefix}-${++this.seq}`,
      route: target.route,
      args,
      sessionId: origin.sessionId,
      cancel: origin.cancel ?? fromSignal(origin.signal),
      onProgress: origin.sendProgress
        ? (p) => origin.sendProgress?.(p.progress, p.total, p.message)
        : undefined,
      meta: origin.meta,
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
      if (await this.deps.prepare?.(origin.sessionId)) return this.callTool(name, args, origin);
      throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    if (target.kind === "meta") {
      const meta = this.deps.meta.get(target.name);
      if (!meta) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      return meta.call(args, origin);
    }
    const executor = this.deps.workflows();
    if (!executor) throw wireError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    return executor.run(target.name, args, origin);
  }
}
