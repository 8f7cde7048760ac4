/**
 * The OpenTelemetry SDK side of telemetry: loaded (dynamic import from telemetry.ts) only when the OTEL_*
 * variables turn tracing on, so with tracing off none of @opentelemetry/* is ever loaded.
 *
 * Nothing is registered globally (no global tracer provider, propagator or context manager): spans are
 * parented explicitly through the CallSpan handles the aggregator passes along (CallOrigin.trace →
 * CallContext.trace). That costs nothing per promise, where an AsyncLocalStorage context manager on
 * Node 20 costs every promise in the process (docs/observability.md, "Context propagation").
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../logger.js";

/** The SDK span behind a live CallSpan. */
export interface TracedPart {
  readonly recording: boolean;
  readonly context: Context;
  setAttribute(key: string, value: string | number): void;
  traceMeta(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown>;
  finish(errorType: string | undefined, message: string | undefined): void;
}

export type SpanFlavour = "server" | "client" | "internal";

export interface SpanStarter {
  /** `parentMeta`: an inbound request's `_meta` (its traceparent is the parent); `parent`: our own span. */
  start(
    flavour: SpanFlavour,
    name: string,
    attributes: Attributes,
    parent: TracedPart | undefined,
    parentMeta?: Readonly<Record<string, unknown>> | undefined,
  ): TracedPart;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly serviceVersion: string;
  readonly log?: Logger | undefined;
  /** Tests: the processors to use instead of a BatchSpanProcessor over the OTLP/HTTP exporter. */
  readonly spanProcessors?: readonly SpanProcessor[] | undefined;
}

const KIND: Readonly<Record<SpanFlavour, SpanKind>> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
};

/** The keys trace context travels under in `params._meta` (unprefixed, W3C formats). */
const PROPAGATED = ["traceparent", "tracestate", "baggage"] as const;

function isPropagated(key: string): boolean {
  return key === "traceparent" || key === "tracestate" || key === "baggage";
}

const propagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

class Traced implements TracedPart {
  readonly recording: boolean;
  readonly context: Context;

  constructor(
    private readonly span: Span,
    parent: Context,
  ) {
    this.recording = span.isRecording();
    this.context = trace.setSpan(parent, span);
  }

  setAttribute(key: string, value: string | number): void {
    if (this.recording) this.span.setAttribute(key, value);
  }

  traceMeta(meta: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
    // The caller's keys but theirs of PROPAGATED (copied one by one: `delete` would slow the object down).
    const out: Record<string, unknown> = {};
    if (meta) for (const key of Object.keys(meta)) if (!isPropagated(key)) out[key] = meta[key];
    propagator.inject(this.context, out, defaultTextMapSetter);
    return out;
  }

  finish(errorType: string | undefined, message: string | undefined): void {
    if (errorType !== undefined && this.recording) {
      this.span.setAttribute("error.type", errorType);
      this.span.setStatus(
        message === undefined || message === ""
          ? { code: SpanStatusCode.ERROR }
          : { code: SpanStatusCode.ERROR, message },
      );
    }
    this.span.end();
  }
}

/** W3C trace context / baggage strings from `_meta` (anything else there is ignored). */
function carrierOf(meta: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  let carrier: Record<string, string> | undefined;
  for (const key of PROPAGATED) {
    const value = meta[key];
    if (typeof value === "string") (carrier ??= {})[key] = value;
  }
  return carrier;
}

function diagTo(log: Logger): void {
  const child = log.child({ component: "opentelemetry" });
  diag.setLogger(
    {
      error: (message, ...args) => child.error({ args }, message),
      warn: (message, ...args) => child.warn({ args }, message),
      info: (message, ...args) => child.debug({ args }, message),
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** A tracer provider over OTLP/HTTP (JSON); exporter, sampler and resource configured by OTEL_* variables. */
export function createSpanStarter(options: TracingOptions): SpanStarter {
  if (options.log) diagTo(options.log);
  const resource = resourceFromAttributes({
    "service.name": "autonomous-mcp",
    "service.version": options.serviceVersion,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: options.spanProcessors
      ? [...options.spanProcessors]
      : [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const tracer: Tracer = provider.getTracer("autonomous-mcp", options.serviceVersion);
  return {
    start(flavour, name, attributes, parent, parentMeta) {
      let context = parent?.context ?? ROOT_CONTEXT;
      if (parent === undefined && parentMeta !== undefined) {
        const carrier = carrierOf(parentMeta);
        if (carrier) context = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
      }
      const span = tracer.startSpan(name, { kind: KIND[flavour], attributes }, context);
      return new Traced(span, context);
    },
    shutdown: () => provider.shutdown(),
  };
}
