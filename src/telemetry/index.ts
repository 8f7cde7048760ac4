/**
 * Traces and MCP semantic-convention metrics (docs/observability.md). Loads neither the OpenTelemetry SDK
 * (only when tracing is on) nor prom-client (operationMetrics.ts, imported by src/metrics.ts).
 */
export { Telemetry, type StartTracingOptions, type TelemetryOptions } from "./telemetry.js";
export { NOOP_SPAN, type CallSpan, type InboundRequest } from "./span.js";
export { PIPELINE_ATTR, type FrontTransport, type PipelineAttribute } from "./semconv.js";
export { tracingDecision, type TracingDecision } from "./env.js";
