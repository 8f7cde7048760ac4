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
import { ANONYMOUS } from "./front/principals.js";

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
      // Fair per principal; the unauthenticated "anonymous" principal is every tokenless client, so per session there.
      client:
        origin.principal !== undefined && origin.principal !== ANONYMOUS
          ? origin.principal
          : origin.sessionId,
      sessionId: origin.sessionId,
      cancel: origin.cancel ?? fromSignal(origin.signal),
      onProgress: origin.sendProgress
        ? (p) => origin.sendProgress?.(p.progress, p.total, p.message)
        : undefined,
      meta: origin.meta,
      principal: origin.principal,
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
