import { wireError } from "../errors.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { Protocol } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ClientCapabilities,
  type LoggingLevel,
  type LoggingMessageNotification,
  type ServerCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { LooseResult } from "../downstream/listing.js";
import { readToolCallParams } from "../jsonrpc/toolCallParams.js";
import { LazyJsonSchemaValidator } from "../lazyValidator.js";
import type { Logger } from "../logger.js";
import type { CallOrigin, FrontBackend, FrontSessionHandle } from "./backend.js";
import { requestErrorToMcp } from "./errorMap.js";
import { callOrigin } from "./origin.js";
import { paginate } from "./paginate.js";
import { LOGGING_LEVELS } from "../logLevels.js";

/**
 * tools/call as the SDK routes it: its params are checked by the one check every front shares
 * (src/jsonrpc/toolCallParams.ts), not by a zod schema (whose failure the SDK would answer -32603);
 * arguments are checked against the tool's own JSON Schema by the pipeline's validate layer.
 */
const CallToolRequest = z.looseObject({ method: z.literal("tools/call") });

type Extra = Parameters<Parameters<Server["setRequestHandler"]>[1]>[1];

/**
 * One front client: an SDK low-level Server whose handlers delegate to the backend. Stdio has one;
 * Streamable HTTP has one per session. Sessions share a server's connection unless it is per-client
 * (src/isolation.ts).
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
    },
  ) {
    this.caps = backend.capabilities();
    this.server = new Server(backend.serverInfo, {
      capabilities: this.caps,
      jsonSchemaValidator: new LazyJsonSchemaValidator(),
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

  private origin(
    extra: Extra,
    meta: Record<string, unknown> | undefined,
  ): CallOrigin & { flush(): Promise<void> } {
    return callOrigin({
      sessionId: this.id,
      principal: this.options.principal,
      signal: extra.signal,
      clientCapabilities: this.server.getClientCapabilities(),
      rawMeta: meta,
      notify: (n) => extra.sendNotification(n),
      requestClient: (request, signal) =>
        extra.sendRequest(request as never, LooseResult, { signal }) as Promise<Record<string, unknown>>,
    });
  }

  private register(): void {
    const s = this.server;
    const caps = this.caps;
    const { pageSize } = this.options;
    const backend = this.backend;

    // tools/call is registered through Protocol directly: Server's own wrapper re-validates every result
    // with zod and strips unknown keys; we forward downstream results verbatim.
    Protocol.prototype.setRequestHandler.call(s, CallToolRequest, async (request, extra) => {
      const call = readToolCallParams((request as { params?: unknown }).params);
      if ("refused" in call) throw wireError(ErrorCode.InvalidParams, call.refused);
      const origin = this.origin(extra, call.meta);
      const result = await backend.callTool(call.name, call.args, origin);
      await origin.flush();
      return result;
    });
    s.setRequestHandler(ListToolsRequestSchema, async (request) => {
      await backend.prepareSession?.(this.id);
      const { page, nextCursor } = paginate(
        backend.catalog(this.id).toolList,
        request.params?.cursor,
        pageSize,
      );
      return { tools: page, ...(nextCursor ? { nextCursor } : {}) };
    });

    if (caps?.resources) {
      s.setRequestHandler(ListResourcesRequestSchema, (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).resourceList,
          request.params?.cursor,
          pageSize,
        );
        return { resources: page, ...(nextCursor ? { nextCursor } : {}) };
      });
      s.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).templateList,
          request.params?.cursor,
          pageSize,
        );
        return { resourceTemplates: page, ...(nextCursor ? { nextCursor } : {}) };
      });
      s.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
        const uri = request.params.uri;
        const route = backend.catalog(this.id).resolveResource(uri);
        if (!route) throw wireError(ErrorCode.InvalidParams, `Unknown resource: ${uri}`);
        const result = await this.guard(() =>
          backend.forward(
            route.server,
            "resources/read",
            { ...request.params, uri: route.uri },
            this.origin(extra, request.params._meta),
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
        s.setRequestHandler(SubscribeRequestSchema, async (request) => {
          this.subscriptions.add(request.params.uri);
          await this.guard(() => backend.subscribe(request.params.uri, this.id));
          return {};
        });
        s.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
          this.subscriptions.delete(request.params.uri);
          await this.guard(() => backend.unsubscribe(request.params.uri, this.id));
          return {};
        });
      }
    }

    if (caps?.prompts) {
      s.setRequestHandler(ListPromptsRequestSchema, (request) => {
        const { page, nextCursor } = paginate(
          backend.catalog(this.id).promptList,
          request.params?.cursor,
          pageSize,
        );
        return { prompts: page, ...(nextCursor ? { nextCursor } : {}) };
      });
      s.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
        const route = backend.catalog(this.id).resolvePrompt(request.params.name);
        if (!route) throw wireError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
        return (await this.guard(() =>
          backend.forward(
            route.server,
            "prompts/get",
            { ...request.params, name: route.originalName },
            this.origin(extra, request.params._meta),
          ),
        )) as never;
      });
    }

    if (caps?.completions) {
      s.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
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
          throw wireError(ErrorCode.InvalidParams, `Nothing to complete for ${JSON.stringify(ref)}`);
        const target = server;
        return (await this.guard(() =>
          backend.forward(target, "completion/complete", params, this.origin(extra, undefined)),
        )) as never;
      });
    }

    if (caps?.logging) {
      s.setRequestHandler(SetLevelRequestSchema, async (request) => {
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

    s.setNotificationHandler(RootsListChangedNotificationSchema, () => backend.rootsChanged(this.id));
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
    if (this.subscriptions.has(uri)) this.server.sendResourceUpdated({ uri }).catch(() => undefined);
  }

  sendLog(params: Record<string, unknown>): void {
    if (!this.caps.logging) return;
    const level = params["level"] as LoggingLevel;
    if (this.logLevel && LOGGING_LEVELS.indexOf(level) < LOGGING_LEVELS.indexOf(this.logLevel)) return;
    this.server
      .notification({ method: "notifications/message", params } as LoggingMessageNotification)
      .catch(() => undefined);
  }

  isSubscribed(uri: string): boolean {
    return this.subscriptions.has(uri);
  }

  request(
    request: { method: string; params?: unknown },
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    return this.server.request(request as never, LooseResult, { signal }) as Promise<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    await this.server.close().catch(() => undefined);
  }
}
