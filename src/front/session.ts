import {
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type ClientCapabilities,
  type HandlerResultTypeMap,
  type LoggingLevel,
  type Request,
  type RequestMethod,
  type RequestTypeMap,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { PassThroughResult } from "../jsonrpc/passThrough.js";
import { NOOP_SPAN, type CallSpan } from "../telemetry/index.js";
import type { Logger } from "../logger.js";
import type { CallOrigin, FrontBackend, FrontSessionHandle } from "./backend.js";
import { requestErrorToMcp } from "./errorMap.js";
import { callOrigin } from "./origin.js";
import { paginate } from "./paginate.js";
import { LOGGING_LEVELS } from "../logLevels.js";

/** Which protocol generation a FrontSession's Server serves (docs/protocol-generations.md). */
export type FrontEra = "legacy" | "modern";

/**
 * One front client: a v2 SDK low-level Server whose handlers delegate to the backend. Stdio has one;
 * Streamable HTTP has one per 2025-era session and one per 2026-07-28 request. Both generations get the
 * same handlers (register() below, whatever the era); the SDK's serving entries (src/front/factory.ts)
 * add what the modern era has of its own (server/discover, the `_meta` envelope, `resultType`, listen).
 * Every request is validated by the SDK's own schemas (tools/call params included: a malformed call is
 * -32602 from the SDK on every front) before a handler sees it. Sessions share a server's connection
 * unless it is per-client (src/isolation.ts).
 */
export class FrontSession implements FrontSessionHandle {
  readonly server: Server;
  private readonly subscriptions = new Set<string>();
  private readonly caps: ServerCapabilities;
  /** The client's logging/setLevel choice; messages below it are not sent to this client. */
  private logLevel: LoggingLevel | undefined;

  constructor(
    readonly id: string,
    private readonly backend: FrontBackend,
    private readonly options: {
      readonly pageSize: number;
      readonly log: Logger;
      /** The HTTP principal that opened this session (none on stdio). */
      readonly principal?: string | undefined;
      /** The front this session is served on (telemetry's network.transport). */
      readonly transport: "stdio" | "http";
      /** The generation served (default legacy); modern list results carry cache hints. */
      readonly era?: FrontEra | undefined;
      /**
       * False for a 2026-07-28 HTTP request's instance: it serves one request and is no session of the
       * backend's (never opened, and its close closes nothing there). Default true.
       */
      readonly session?: boolean | undefined;
    },
  ) {
    this.caps = backend.capabilities();
    this.server = new Server(backend.serverInfo, {
      capabilities: this.caps,
      ...(backend.instructions ? { instructions: backend.instructions } : {}),
    });
    this.register();
  }

  clientCapabilities(): ClientCapabilities | undefined {
    return this.server.getClientCapabilities();
  }

  get principal(): string | undefined {
    return this.options.principal;
  }

  get era(): FrontEra {
    return this.options.era ?? "legacy";
  }

  /** A list result's `ttlMs` / `cacheScope` (2026-07-28 only: a 2025-era answer stays as it was). */
  private listHint(): { ttlMs?: number; cacheScope?: "public" | "private" } {
    return this.options.era === "modern" ? (this.backend.listCacheHint?.(this.id) ?? {}) : {};
  }

  /**
   * Runs one request's work inside its SERVER span (telemetry: a no-op span while tracing and metrics are
   * off), ending it with the result or the failure. Every request handler of the session goes through here.
   */
  private traced<T>(
    ctx: ServerContext,
    params: Readonly<Record<string, unknown>> | undefined,
    work: (span: CallSpan) => Promise<T> | T,
  ): Promise<T> | T {
    const span =
      this.backend.telemetry?.inbound(
        ctx,
        params,
        this.options.transport,
        this.server.getNegotiatedProtocolVersion(),
      ) ?? NOOP_SPAN;
    // Telemetry off: the work's own promise, no frame of ours around it.
    return span === NOOP_SPAN ? work(span) : endSpan(span, work);
  }

  private origin(
    ctx: ServerContext,
    meta: unknown,
    trace: CallSpan,
  ): CallOrigin & { flush(): Promise<void> } {
    const req = ctx.mcpReq;
    return callOrigin({
      sessionId: this.id,
      principal: this.options.principal,
      signal: req.signal,
      clientCapabilities: this.server.getClientCapabilities(),
      rawMeta: meta,
      notify: (n) => req.notify(n),
      // Related to this request: over HTTP it goes out on the call's own stream (the SDK routes it).
      requestClient: (request, signal) => req.send(request as Request, PassThroughResult, { signal }),
      trace,
    });
  }

  private register(): void {
    const s = this.server;
    // Every request handler runs inside its SERVER span (traced): registered through here.
    const on = <M extends RequestMethod>(
      method: M,
      handler: (
        request: RequestTypeMap[M],
        ctx: ServerContext,
        span: CallSpan,
      ) => HandlerResultTypeMap[M] | Promise<HandlerResultTypeMap[M]>,
    ): void =>
      s.setRequestHandler(method, (request, ctx) =>
        this.traced(ctx, request.params as Record<string, unknown> | undefined, (span) =>
          handler(request, ctx, span),
        ),
      );
    const caps = this.caps;
    const { pageSize } = this.options;
    const backend = this.backend;

    on("tools/call", async (request, ctx, span) => {
      const { name, arguments: args, _meta } = request.params;
      const origin = this.origin(ctx, _meta, span);
      const result = await backend.callTool(name, args ?? {}, origin);
      await origin.flush();
      return result;
    });
    on("tools/list", async (request) => {
      await backend.prepareSession?.(this.id);
      const { page, nextCursor } = paginate(
        backend.catalog(this.id).toolList,
        request.params?.cursor,
        pageSize,
      );
      return { tools: page, ...(nextCursor ? { nextCursor } : {}), ...this.listHint() };
    });

    if (caps?.resources) {
      on("resources/list", (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).resourceList,
          request.params?.cursor,
          pageSize,
        );
        return { resources: page, ...(nextCursor ? { nextCursor } : {}), ...this.listHint() };
      });
      on("resources/templates/list", (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).templateList,
          request.params?.cursor,
          pageSize,
        );
        return { resourceTemplates: page, ...(nextCursor ? { nextCursor } : {}), ...this.listHint() };
      });
      on("resources/read", async (request, ctx, span) => {
        const uri = request.params.uri;
        const route = backend.catalog(this.id).resolveResource(uri);
        if (!route) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource: ${uri}`);
        const result = await this.guard(() =>
          backend.forward(
            route.server,
            "resources/read",
            { ...request.params, uri: route.uri },
            this.origin(ctx, request.params._meta, span),
          ),
        );
        if (route.uri !== uri && Array.isArray(result["contents"])) {
          result["contents"] = (result["contents"] as { uri?: string }[]).map((c) =>
            c.uri === route.uri ? { ...c, uri } : c,
          );
        }
        return result as never;
      });
      if (caps.resources.subscribe) {
        on("resources/subscribe", async (request) => {
          this.subscriptions.add(request.params.uri);
          await this.guard(() => backend.subscribe(request.params.uri, this.id));
          return {};
        });
        on("resources/unsubscribe", async (request) => {
          this.subscriptions.delete(request.params.uri);
          await this.guard(() => backend.unsubscribe(request.params.uri, this.id));
          return {};
        });
      }
    }

    if (caps?.prompts) {
      on("prompts/list", (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).promptList,
          request.params?.cursor,
          pageSize,
        );
        return { prompts: page, ...(nextCursor ? { nextCursor } : {}), ...this.listHint() };
      });
      on("prompts/get", async (request, ctx, span) => {
        const route = backend.catalog(this.id).resolvePrompt(request.params.name);
        if (!route)
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
        return (await this.guard(() =>
          backend.forward(
            route.server,
            "prompts/get",
            { ...request.params, name: route.originalName },
            this.origin(ctx, request.params._meta, span),
          ),
        )) as never;
      });
    }

    if (caps?.completions) {
      on("completion/complete", async (request, ctx, span) => {
        const ref = request.params.ref;
        const catalog = backend.catalog(this.id);
        let server: string | undefined;
        let params: Record<string, unknown> = request.params;
        if (ref.type === "ref/prompt") {
          const route = catalog.resolvePrompt(ref.name);
          server = route?.server;
          if (route) params = { ...request.params, ref: { ...ref, name: route.originalName } };
        } else {
          server = catalog.templateOwners.get(ref.uri) ?? catalog.resolveResource(ref.uri)?.server;
        }
        if (!server)
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Nothing to complete for ${JSON.stringify(ref)}`,
          );
        const target = server;
        return (await this.guard(() =>
          backend.forward(target, "completion/complete", params, this.origin(ctx, undefined, span)),
        )) as never;
      });
    }

    if (caps?.logging) {
      on("logging/setLevel", async (request) => {
        this.logLevel = request.params.level;
        const level = request.params.level;
        await this.guard(() =>
          backend.setLogLevel
            ? backend.setLogLevel(this.id, level)
            : backend.broadcast("logging/setLevel", { level }, "logging"),
        );
        return {};
      });
    }

    s.setNotificationHandler("notifications/roots/list_changed", () => backend.rootsChanged(this.id));
    if (this.options.session === false) return;
    s.oninitialized = () => backend.sessionOpened(this);
    s.onclose = () => backend.sessionClosed(this.id);
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw requestErrorToMcp(error);
    }
  }

  notifyListChanged(kind: "tools" | "resources" | "prompts"): void {
    const caps = this.caps;
    const send =
      kind === "tools"
        ? () => this.server.sendToolListChanged()
        : kind === "resources"
          ? caps?.resources
            ? () => this.server.sendResourceListChanged()
            : undefined
          : caps?.prompts
            ? () => this.server.sendPromptListChanged()
            : undefined;
    if (send && this.server.transport) send().catch(() => undefined);
  }

  notifyResourceUpdated(uri: string): void {
    // 2026-07-28: the SDK's listen router delivers it to the streams that follow the URI (if any).
    if (this.subscriptions.has(uri) || this.options.era === "modern")
      this.server.sendResourceUpdated({ uri }).catch(() => undefined);
  }

  sendLog(params: Record<string, unknown>): void {
    if (!this.caps.logging) return;
    const level = params["level"] as LoggingLevel;
    if (this.logLevel && LOGGING_LEVELS.indexOf(level) < LOGGING_LEVELS.indexOf(this.logLevel)) return;
    this.server.notification({ method: "notifications/message", params }).catch(() => undefined);
  }

  isSubscribed(uri: string): boolean {
    return this.subscriptions.has(uri);
  }

  request(
    request: { method: string; params?: unknown },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    return this.server.request(request as never, { signal }) as Promise<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    await this.server.close().catch(() => undefined);
  }
}

/** The work inside a live span, which ends with its result or its failure. */
async function endSpan<T>(span: CallSpan, work: (span: CallSpan) => Promise<T> | T): Promise<T> {
  try {
    const result = await work(span);
    span.end(result);
    return result;
  } catch (error) {
    span.fail(error);
    throw error;
  }
}
