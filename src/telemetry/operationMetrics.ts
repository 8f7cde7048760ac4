import { Histogram, type Registry } from "prom-client";
import { OTHER_ERROR, TOOL_ERROR } from "./semconv.js";

/**
 * The MCP semantic-convention duration histograms (mcp.server.operation.duration,
 * mcp.client.operation.duration, seconds) on our Prometheus registry. Every label is bounded: methods
 * outside the MCP set, tools the catalog does not know and error codes outside the known set collapse
 * to "other" / "_OTHER", so a hostile client or downstream cannot mint series.
 */

/** The convention's advisory boundaries (0.01 … 300 s), with 1, 2.5 and 5 ms in front: most hops here are faster than 10 ms. */
export const OPERATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300,
];

const METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "server/discover",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "subscriptions/listen",
  "completion/complete",
  "logging/setLevel",
  "sampling/createMessage",
  "elicitation/create",
  "roots/list",
]);

/** JSON-RPC codes MCP peers use; anything else is `_OTHER` in a label (the span keeps the exact code). */
const RPC_CODES: ReadonlySet<string> = new Set(
  [-32700, -32600, -32601, -32602, -32603, -32000, -32001, -32002, -32020, -32042, -32800].map(String),
);

/** error.type values bounded for a label: tool_error, known JSON-RPC codes, our own UPPER_CASE codes. */
export function boundedErrorType(errorType: string | undefined): string {
  if (errorType === undefined) return "";
  if (errorType === TOOL_ERROR || RPC_CODES.has(errorType)) return errorType;
  return /^[A-Z][A-Z_]{2,40}$/.test(errorType) ? errorType : OTHER_ERROR;
}

export function boundedMethod(method: string): string {
  return METHODS.has(method) ? method : "other";
}

/**
 * A prom-client Histogram whose children are kept per label set: `labels()` validates and hashes a label
 * set (about 1 µs, bench/telemetry-micro.mjs), so each set is looked up once and its child's observe()
 * is all a call pays.
 */
class LabelledHistogram<L extends string> {
  private readonly children = new Map<string, Histogram.Internal<L>>();

  constructor(private readonly histogram: Histogram<L>) {}

  observe(key: string, labels: () => Partial<Record<L, string>>, seconds: number): void {
    let child = this.children.get(key);
    if (child === undefined) this.children.set(key, (child = this.histogram.labels(labels())));
    child.observe(seconds);
  }
}

export class OperationMetrics {
  private readonly server: LabelledHistogram<
    "mcp_method_name" | "gen_ai_tool_name" | "error_type" | "network_transport"
  >;
  private readonly client: LabelledHistogram<
    "mcp_method_name" | "server" | "gen_ai_tool_name" | "error_type"
  >;

  constructor(registers: Registry[]) {
    this.server = new LabelledHistogram(
      new Histogram({
        name: "mcp_server_operation_duration_seconds",
        help: "mcp.server.operation.duration: an MCP request as the aggregator's front received and answered it, seconds.",
        labelNames: ["mcp_method_name", "gen_ai_tool_name", "error_type", "network_transport"],
        buckets: OPERATION_BUCKETS,
        registers,
      }),
    );
    this.client = new LabelledHistogram(
      new Histogram({
        name: "mcp_client_operation_duration_seconds",
        help: "mcp.client.operation.duration: one request to a downstream server (one hop: each retry attempt counts), seconds.",
        labelNames: ["mcp_method_name", "server", "gen_ai_tool_name", "error_type"],
        buckets: OPERATION_BUCKETS,
        registers,
      }),
    );
  }

  /** `tool`: the public name when the catalog knows it, else undefined (label "other" for tools/call). */
  observeServer(
    method: string,
    tool: string | undefined,
    transport: string,
    errorType: string | undefined,
    seconds: number,
  ): void {
    const m = boundedMethod(method);
    const t = tool ?? (m === "tools/call" ? "other" : "");
    const e = boundedErrorType(errorType);
    const key = `${m}\n${t}\n${e}\n${transport}`;
    this.server.observe(
      key,
      () => ({ mcp_method_name: m, gen_ai_tool_name: t, error_type: e, network_transport: transport }),
      seconds,
    );
  }

  /** `server` is a config key (bounded); `tool` the downstream's name when the catalog knows it. */
  observeClient(
    method: string,
    server: string,
    tool: string | undefined,
    errorType: string | undefined,
    seconds: number,
  ): void {
    const m = boundedMethod(method);
    const t = tool ?? (m === "tools/call" ? "other" : "");
    const e = boundedErrorType(errorType);
    const key = `${m}\n${server}\n${t}\n${e}`;
    this.client.observe(
      key,
      () => ({ mcp_method_name: m, server, gen_ai_tool_name: t, error_type: e }),
      seconds,
    );
  }
}
