import { DEFAULTS } from "../config/defaults.js";
import type { Logger } from "../logger.js";
import { tracingDecision, type TracingDecision } from "./env.js";
import type { OperationMetrics } from "./operationMetrics.js";
import {
  ATTR,
  failureErrorType,
  failureMessage,
  NETWORK_TRANSPORT,
  PIPELINE_ATTR,
  resultErrorType,
  spanName,
  targetAttributes,
  targetOf,
  type FrontTransport,
} from "./semconv.js";
import { NOOP_SPAN, type CallSpan, type InboundRequest } from "./span.js";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SpanFlavour, SpanStarter, TracedPart } from "./tracing.js";

export interface PayloadSettings {
  /** Record tool arguments and results on spans (gen_ai.tool.call.arguments/result). Default false. */
  readonly recordPayloads: boolean;
  /** Longest recorded payload, characters of its JSON (longer is cut, marked with …). */
  readonly payloadMaxChars: number;
}

export interface TelemetryOptions {
  /** The config's `telemetry` section, read when a span starts (a reload applies at once). Default: off. */
  readonly payloads?: (() => PayloadSettings) | undefined;
  /** Whether a public tool name is one the catalog knows (else its metric label is "other"). */
  readonly knownTool?: ((publicName: string) => boolean) | undefined;
  /** Whether a downstream server's tool name is one the catalog knows (else "other"). */
  readonly knownServerTool?: ((server: string, tool: string) => boolean) | undefined;
}

export interface StartTracingOptions {
  readonly log?: Logger | undefined;
  readonly serviceVersion: string;
  /** Tests: span processors (e.g. over an InMemorySpanExporter) instead of OTLP/HTTP. */
  readonly spanProcessors?: readonly SpanProcessor[] | undefined;
}

const never = (): boolean => false;

/**
 * The aggregator's hooks for traces and the MCP semantic-convention metrics. Built off (every hook returns
 * NOOP_SPAN); `useMetrics` (HTTP front: /metrics) and `startTracing` (OTEL_* variables) turn parts on.
 * Call sites: the front (inbound), pipeline/middleware/hop.ts (outbound: every downstream attempt of a
 * tools/call and of a routed request), the workflow runner (step). docs/observability.md.
 */
export class Telemetry {
  private starter: SpanStarter | undefined;
  /** @internal Read by the spans this instance makes (LiveSpan). */
  ops: OperationMetrics | undefined;
  private readonly payloads: () => PayloadSettings;
  private readonly knownTool: (publicName: string) => boolean;
  private readonly knownServerTool: (server: string, tool: string) => boolean;
  private on = false;

  constructor(options: TelemetryOptions = {}) {
    this.payloads = options.payloads ?? (() => DEFAULTS.telemetry);
    this.knownTool = options.knownTool ?? never;
    this.knownServerTool = options.knownServerTool ?? never;
  }

  /** True while spans are being made (the OTEL_* variables turned tracing on). */
  get tracing(): boolean {
    return this.starter !== undefined;
  }

  /** Records the duration histograms into `ops` from now on (undefined: stop). */
  useMetrics(ops: OperationMetrics | undefined): void {
    this.ops = ops;
    this.on = this.starter !== undefined || ops !== undefined;
  }

  /**
   * Turns tracing on if `env` asks for it (the SDK is imported only then). Returns the decision, whose
   * note the caller logs.
   */
  async startTracing(
    env: Readonly<Record<string, string | undefined>>,
    options: StartTracingOptions,
  ): Promise<TracingDecision> {
    const decision = tracingDecision(env);
    if (!decision.on || this.starter) return decision;
    const { createSpanStarter } = await import("./tracing.js");
    this.starter = createSpanStarter(options);
    this.on = true;
    return decision;
  }

  /** Stops tracing; the spans not exported yet get up to `flushMs` to reach the collector. */
  async shutdown(flushMs = 2_000): Promise<void> {
    const starter = this.starter;
    if (!starter) return;
    this.starter = undefined;
    this.on = this.ops !== undefined;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, flushMs);
      timer.unref();
    });
    try {
      await Promise.race([starter.shutdown().catch(() => undefined), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A request the front received: a SERVER span `{method} {target}` whose parent is the traceparent in the
   * request's `_meta` (if any), and one mcp.server.operation.duration observation when it ends.
   * `req` is the v2 SDK's handler context as it is; `params` the request's params.
   */
  inbound(
    req: InboundRequest,
    params: Readonly<Record<string, unknown>> | undefined,
    transport: FrontTransport,
    protocolVersion?: string,
  ): CallSpan {
    if (!this.on) return NOOP_SPAN;
    const method = req.mcpReq.method;
    const target = targetOf(method, params);
    let traced: TracedPart | undefined;
    if (this.starter) {
      const attributes: Record<string, string | number> = {
        [ATTR.methodName]: method,
        [ATTR.transport]: NETWORK_TRANSPORT[transport],
      };
      if (req.sessionId !== undefined) attributes[ATTR.sessionId] = req.sessionId;
      if (protocolVersion !== undefined) attributes[ATTR.protocolVersion] = protocolVersion;
      const id = req.mcpReq.id;
      if (id !== undefined && id !== null) attributes[ATTR.requestId] = String(id);
      targetAttributes(attributes, method, target);
      if (method === "tools/call" && params?.["arguments"] !== undefined)
        this.recordPayload(attributes, ATTR.toolArguments, params["arguments"]);
      const parentMeta = req.mcpReq._meta ?? (params?.["_meta"] as Record<string, unknown> | undefined);
      traced = this.starter.start("server", spanName(method, target), attributes, undefined, parentMeta);
    }
    const tool =
      target !== undefined && method === "tools/call" && this.knownTool(target) ? target : undefined;
    return new LiveSpan(this, "server", method, NETWORK_TRANSPORT[transport], tool, traced);
  }

  /**
   * One request to a downstream server: a CLIENT span child of `parent`, and one
   * mcp.client.operation.duration observation. `target`: the tool or prompt name, or the resource URI.
   * Send `span.traceMeta(meta)` as the request's `_meta`. `attempt` > 1 marks a retry; `args` are
   * recorded only with telemetry.recordPayloads.
   */
  outbound(
    server: string,
    method: string,
    target: string | undefined,
    parent: CallSpan | undefined,
    attempt?: number,
    args?: unknown,
  ): CallSpan {
    if (!this.on) return NOOP_SPAN;
    let traced: TracedPart | undefined;
    if (this.starter) {
      const attributes: Record<string, string | number> = {
        [ATTR.methodName]: method,
        [ATTR.server]: server,
      };
      targetAttributes(attributes, method, target);
      if (attempt !== undefined && attempt > 0) attributes[PIPELINE_ATTR.retryAttempt] = attempt;
      if (method === "tools/call" && args !== undefined)
        this.recordPayload(attributes, ATTR.toolArguments, args);
      traced = this.start("client", spanName(method, target), attributes, parent);
    }
    const tool =
      target !== undefined && method === "tools/call" && this.knownServerTool(server, target)
        ? target
        : undefined;
    return new LiveSpan(this, "client", method, server, tool, traced);
  }

  /** A workflow step: an INTERNAL span, child of the workflow call's span; its tool calls are its children. */
  step(parent: CallSpan | undefined, workflow: string, stepId: string, tool: string): CallSpan {
    if (!this.starter) return NOOP_SPAN;
    const traced = this.start(
      "internal",
      `workflow step ${stepId}`,
      { [ATTR.workflowName]: workflow, [ATTR.workflowStep]: stepId, [ATTR.toolName]: tool },
      parent,
    );
    return new LiveSpan(this, "internal", "", "", undefined, traced);
  }

  private start(
    flavour: SpanFlavour,
    name: string,
    attributes: Record<string, string | number>,
    parent: CallSpan | undefined,
  ): TracedPart | undefined {
    const parentPart = parent instanceof LiveSpan ? parent.traced : undefined;
    return this.starter?.start(flavour, name, attributes, parentPart);
  }

  /** @internal With telemetry.recordPayloads only: the payload as JSON text, cut at payloadMaxChars. */
  recordPayload(attributes: Record<string, string | number>, key: string, value: unknown): void {
    const { recordPayloads, payloadMaxChars } = this.payloads();
    if (!recordPayloads) return;
    let text: string;
    try {
      text = JSON.stringify(value) ?? "null";
    } catch {
      text = "[unserializable]";
    }
    attributes[key] = text.length > payloadMaxChars ? `${text.slice(0, payloadMaxChars)}…` : text;
  }
}

/** A live operation: times it for the histograms and drives its span (when tracing). Ends once. */
class LiveSpan implements CallSpan {
  readonly live = true;
  private readonly started = performance.now();
  private ended = false;

  constructor(
    private readonly owner: Telemetry,
    private readonly flavour: SpanFlavour,
    private readonly method: string,
    /** server: the network.transport value; client: the downstream server. */
    private readonly where: string,
    /** The tool label: a name the catalog knows, else undefined. */
    private readonly tool: string | undefined,
    readonly traced: TracedPart | undefined,
  ) {}

  set(key: string, value: string | number): void {
    this.traced?.setAttribute(key, value);
  }

  traceMeta(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
    return this.traced ? this.traced.traceMeta(meta) : (meta as Record<string, unknown> | undefined);
  }

  end(result?: unknown): void {
    if (this.ended) return;
    if (this.traced?.recording === true && this.method === "tools/call" && result !== undefined) {
      const recorded: Record<string, string | number> = {};
      this.owner.recordPayload(recorded, ATTR.toolResult, result);
      for (const [key, value] of Object.entries(recorded)) this.traced.setAttribute(key, value);
    }
    this.finish(resultErrorType(result), undefined);
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.finish(failureErrorType(error), failureMessage(error));
  }

  private finish(errorType: string | undefined, message: string | undefined): void {
    this.ended = true;
    const ops = this.owner.ops;
    if (ops !== undefined && this.flavour !== "internal") {
      const seconds = (performance.now() - this.started) / 1000;
      if (this.flavour === "server")
        ops.observeServer(this.method, this.tool, this.where, errorType, seconds);
      else ops.observeClient(this.method, this.where, this.tool, errorType, seconds);
    }
    this.traced?.finish(errorType, message);
  }
}
