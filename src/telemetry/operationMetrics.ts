import type { Metric, Registry } from "prom-client";
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

/** One label set's counts: per bucket (not cumulative; the last is +Inf), sum and count. */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram registered on a prom-client Registry (which formats and serves it like its own), whose
 * observation is a Map lookup and three additions. prom-client's own Histogram validates and hashes the
 * label set on every observe(), about 1 µs per call measured here (bench/telemetry-micro.mjs), paid on
 * every request of the HTTP front; this one does that once per label set.
 */
class FastHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registers: readonly Registry[],
  ) {
    // A prom-client Registry serves any object with name, help, type and get() (lib/registry.js).
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of a label set (made once: `labels` is read only the first time `key` is seen). */
  seriesOf(key: string): Series | undefined {
    return this.series.get(key);
  }

  add(key: string, labels: Readonly<Record<string, string>>): Series {
    const series: Series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.series.set(key, series);
    return series;
  }

  observe(series: Series, seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    series.counts[i] = (series.counts[i] ?? 0) + 1;
    series.sum += seconds;
    series.count++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += counts[i] ?? 0;
        const le = i < this.bounds.length ? (this.bounds[i] as number) : "+Inf";
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

interface MetricValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
}

export class OperationMetrics {
  private readonly server: FastHistogram;
  private readonly client: FastHistogram;

  constructor(registers: Registry[]) {
    this.server = new FastHistogram(
      "mcp_server_operation_duration_seconds",
      "mcp.server.operation.duration: an MCP request as the aggregator's front received and answered it, seconds.",
      OPERATION_BUCKETS,
      registers,
    );
    this.client = new FastHistogram(
      "mcp_client_operation_duration_seconds",
      "mcp.client.operation.duration: one request to a downstream server (one hop: each retry attempt counts), seconds.",
      OPERATION_BUCKETS,
      registers,
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
    const series =
      this.server.seriesOf(key) ??
      this.server.add(key, {
        mcp_method_name: m,
        gen_ai_tool_name: t,
        error_type: e,
        network_transport: transport,
      });
    this.server.observe(series, seconds);
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
    const series =
      this.client.seriesOf(key) ??
      this.client.add(key, { mcp_method_name: m, server, gen_ai_tool_name: t, error_type: e });
    this.client.observe(series, seconds);
  }
}
