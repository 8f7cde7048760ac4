/** Traces and MCP semantic-convention metrics (docs/observability.md). The SDK loads only when tracing is on. */
export { Telemetry, type StartTracingOptions, type TelemetryOptions } from "./telemetry.js";
export { NOOP_SPAN, type CallSpan, type InboundRequest } from "./span.js";
export { PIPELINE_ATTR, type FrontTransport, type PipelineAttribute } from "./semconv.js";
export { tracingDecision, type TracingDecision } from "./env.js";
export { OperationMetrics, OPERATION_BUCKETS } from "./operationMetrics.js";
