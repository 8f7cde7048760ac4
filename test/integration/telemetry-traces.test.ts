import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Client as V2Client } from "@modelcontextprotocol/client";
import { InMemoryTransport as V2InMemoryTransport } from "@modelcontextprotocol/server";
import type { Aggregator } from "../../src/aggregator.js";
import { FrontSession } from "../../src/front/session.js";
import { createAggregator } from "../../src/compose.js";
import { loadConfig } from "../../src/config/load.js";
import type { CallOrigin } from "../../src/front/backend.js";
import { createLogger } from "../../src/logger.js";
import { Metrics } from "../../src/metrics.js";
import type { CallSpan } from "../../src/telemetry/index.js";
import { tempDir, writeConfig, type TempDir } from "../helpers/aggregator.js";
import { KIND, OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.js";

/**
 * Traces end to end through a real Aggregator (router, pipeline, workflows, connection) exported by the
 * real OTLP/HTTP exporter (JSON) to an in-process receiver, with an in-process downstream (the SDK's
 * Server over InMemoryTransport, handed to the pool as a prespawned transport) that records the `_meta`
 * of every request it receives. The front's hook (telemetry.inbound) is called here as the front calls
 * it: the front is being rewritten on the v2 SDK (issue #15), and its own end-to-end test is added with it.
 */

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

function downstream(seen: Record<string, unknown>[]): InMemoryTransport {
  const server = new Server(
    { name: "inproc", version: "1.0.0" },
    { capabilities: { tools: {}, resources: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: "echo",
        inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
        annotations: { readOnlyHint: true },
      },
      { name: "fail", inputSchema: { type: "object" } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    seen.push({ method: "tools/call", ...request.params._meta });
    if (request.params.name === "fail") return { isError: true, content: [{ type: "text", text: "failed" }] };
    return { content: [{ type: "text", text: String(request.params.arguments?.["message"]) }] };
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{ uri: "test://thing", name: "thing" }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    seen.push({ method: "resources/read", ...request.params._meta });
    return { contents: [{ uri: request.params.uri, text: "thing" }] };
  });
  const [ours, theirs] = InMemoryTransport.createLinkedPair();
  void server.connect(theirs);
  return ours;
}

interface Harness {
  readonly agg: Aggregator;
  readonly receiver: OtlpReceiver;
  readonly seen: Record<string, unknown>[];
  readonly metrics: Metrics;
  /** Flushes the spans to the receiver (Telemetry.shutdown) and returns them. */
  flush(): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const OTEL_KEYS = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
] as const;

async function start(dir: string, config: Record<string, unknown> = {}): Promise<Harness> {
  const receiver = new OtlpReceiver();
  const url = await receiver.listen();
  const configPath = await writeConfig(dir, {
    mcpServers: { inproc: { command: process.execPath, args: ["-e", ""] } },
    workflows: {
      say: {
        description: "Echoes m, then echoes it again.",
        input: { type: "object", properties: { m: { type: "string" } }, required: ["m"] },
        steps: [
          { id: "first", tool: "inproc_echo", args: { message: "{{input.m}}" } },
          { id: "second", tool: "inproc_echo", args: { message: "{{input.m}} again" }, dependsOn: ["first"] },
        ],
      },
    },
    ...config,
  });
  const loaded = await loadConfig(configPath);
  const log = createLogger({ level: "silent" });
  const seen: Record<string, unknown>[] = [];
  const metrics = new Metrics({ defaultMetrics: false });
  const agg = createAggregator(loaded, {
    log,
    metrics,
    prespawned: new Map([["inproc", { transport: downstream(seen) }]]),
  });
  // The exporter and the resource read the standard variables when tracing starts (as serve does).
  const saved = Object.fromEntries(OTEL_KEYS.map((k) => [k, process.env[k]]));
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "amcp-e2e",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
  });
  try {
    const decision = await agg.telemetry.startTracing(process.env, { log, serviceVersion: "1.2.3" });
    expect(decision).toEqual({ on: true, note: undefined });
  } finally {
    for (const k of OTEL_KEYS)
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  }
  await agg.start({}, { graceMs: loaded.config.startup.graceMs });
  return {
    agg,
    receiver,
    seen,
    metrics,
    flush: async () => {
      await agg.telemetry.shutdown(20_000);
      expect(receiver.rejected).toEqual([]);
      return receiver.spans;
    },
    close: async () => {
      await agg.telemetry.shutdown(0);
      await agg.close();
      await receiver.close();
    },
  };
}

/** What the front does per request (the hook the lead wires in front/): an inbound span, ended with the answer. */
async function asFront<T>(
  h: Harness,
  method: string,
  params: Record<string, unknown>,
  meta: Record<string, unknown> | undefined,
  call: (origin: CallOrigin) => Promise<T>,
): Promise<T> {
  const span: CallSpan = h.agg.telemetry.inbound(
    { sessionId: "session-1", mcpReq: { id: 41, method, ...(meta ? { _meta: meta } : {}) } },
    params,
    "http",
    "2025-11-25",
  );
  const origin: CallOrigin = {
    sessionId: "session-1",
    signal: new AbortController().signal,
    clientCapabilities: {},
    ...(meta ? { meta } : {}),
    trace: span,
  };
  try {
    const result = await call(origin);
    span.end(result);
    return result;
  } catch (error) {
    span.fail(error);
    throw error;
  }
}

function one(spans: ReceivedSpan[], name: string, kind: number): ReceivedSpan {
  const found = spans.filter((s) => s.name === name && s.kind === kind);
  expect(found, `${name} (kind ${kind}) in ${spans.map((s) => s.name).join(", ")}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

function traceparentParts(value: unknown): { trace: string; parent: string; flags: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(value));
  expect(match, `traceparent ${String(value)}`).not.toBeNull();
  return { trace: match?.[1] ?? "", parent: match?.[2] ?? "", flags: match?.[3] ?? "" };
}

describe("traces through the aggregator to an OTLP/HTTP receiver", () => {
  let tmp: TempDir;
  let h: Harness;
  beforeEach(async () => {
    tmp = await tempDir();
    h = await start(tmp.dir);
  });
  afterEach(async () => {
    await h.close();
    await tmp.cleanup();
  });

  it("a client's traceparent is the parent; the downstream receives ours, in the same trace", async () => {
    const secret = "hunter2-argument";
    const result = await asFront(
      h,
      "tools/call",
      { name: "inproc_echo", arguments: { message: secret } },
      { traceparent: CLIENT_TRACEPARENT, tracestate: "vendor=1", "example.com/keep": "yes" },
      (origin) => h.agg.callTool("inproc_echo", { message: secret }, origin),
    );
    expect((result as CallToolResult).content).toEqual([{ type: "text", text: secret }]);
    const spans = await h.flush();
    const server = one(spans, "tools/call inproc_echo", KIND.server);
    const hop = one(spans, "tools/call echo", KIND.client);
    expect(server.traceId).toBe(CLIENT_TRACE);
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(hop.traceId).toBe(CLIENT_TRACE);
    expect(hop.parentSpanId).toBe(server.spanId);
    expect(server.attributes).toMatchObject({
      "mcp.method.name": "tools/call",
      "mcp.session.id": "session-1",
      "mcp.protocol.version": "2025-11-25",
      "gen_ai.tool.name": "inproc_echo",
      "gen_ai.operation.name": "execute_tool",
      "jsonrpc.request.id": "41",
      "network.transport": "tcp",
      "autonomous_mcp.retry.attempt": 1,
    });
    expect(hop.attributes).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "echo",
      "autonomous_mcp.server": "inproc",
      "autonomous_mcp.retry.attempt": 1,
    });
    expect(server.resource).toMatchObject({
      "service.name": "amcp-e2e",
      "service.version": "1.2.3",
      "deployment.environment": "test",
    });
    // What the downstream received: our hop's context, the caller's other _meta keys, nothing stale.
    expect(h.seen).toHaveLength(1);
    const sent = h.seen[0] ?? {};
    const tp = traceparentParts(sent["traceparent"]);
    expect(tp).toEqual({ trace: CLIENT_TRACE, parent: hop.spanId, flags: "01" });
    expect(sent["tracestate"]).toBe("vendor=1");
    expect(sent["example.com/keep"]).toBe("yes");
    // Arguments and results are never recorded by default.
    expect(JSON.stringify(spans)).not.toContain(secret);
  });

  it("through the real front: a v2 client's tools/call is one SERVER span, the parent of its hop", async () => {
    const session = new FrontSession("front-session", h.agg, {
      pageSize: h.agg.pageSize,
      log: createLogger({ level: "silent" }),
      transport: "stdio",
    });
    const [serverSide, clientSide] = V2InMemoryTransport.createLinkedPair();
    await session.server.connect(serverSide);
    const client = new V2Client({ name: "traced-client", version: "1.0.0" });
    await client.connect(clientSide);
    try {
      const result = await client.callTool({
        name: "inproc_echo",
        arguments: { message: "via the front" },
        _meta: { traceparent: CLIENT_TRACEPARENT },
      });
      expect(result.content).toEqual([{ type: "text", text: "via the front" }]);
    } finally {
      await client.close();
      await session.close();
    }
    const spans = await h.flush();
    const server = one(spans, "tools/call inproc_echo", KIND.server);
    const hop = one(spans, "tools/call echo", KIND.client);
    expect(server.traceId).toBe(CLIENT_TRACE);
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(hop.parentSpanId).toBe(server.spanId);
    expect(server.attributes).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "inproc_echo",
      "network.transport": "pipe",
    });
    // A stdio-like link has no MCP session id (the attribute is the transport's Mcp-Session-Id).
    expect(server.attributes["mcp.session.id"]).toBeUndefined();
    const tp = traceparentParts((h.seen[0] ?? {})["traceparent"]);
    expect(tp).toEqual({ trace: CLIENT_TRACE, parent: hop.spanId, flags: "01" });
  });

  it("no inbound traceparent: one new trace per request, the hop a child of the request's span", async () => {
    await asFront(h, "tools/call", { name: "inproc_fail" }, undefined, (origin) =>
      h.agg.callTool("inproc_fail", {}, origin),
    );
    const spans = await h.flush();
    const server = one(spans, "tools/call inproc_fail", KIND.server);
    const hop = one(spans, "tools/call fail", KIND.client);
    expect(server.parentSpanId).toBeUndefined();
    expect(hop.parentSpanId).toBe(server.spanId);
    expect(server.attributes["error.type"]).toBe("tool_error");
    expect(hop.attributes["error.type"]).toBe("tool_error");
    expect(server.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(traceparentParts(h.seen[0]?.["traceparent"]).trace).toBe(server.traceId);
  });

  it("workflow steps are child spans of the workflow call; each step's hop is the step's child", async () => {
    await asFront(h, "tools/call", { name: "say", arguments: { m: "hi" } }, undefined, (origin) =>
      h.agg.callTool("say", { m: "hi" }, origin),
    );
    const spans = await h.flush();
    const wf = one(spans, "tools/call say", KIND.server);
    const first = one(spans, "workflow step first", KIND.internal);
    const second = one(spans, "workflow step second", KIND.internal);
    const hops = spans.filter((s) => s.name === "tools/call echo" && s.kind === KIND.client);
    expect(first.parentSpanId).toBe(wf.spanId);
    expect(second.parentSpanId).toBe(wf.spanId);
    expect(first.attributes).toMatchObject({
      "autonomous_mcp.workflow.name": "say",
      "autonomous_mcp.workflow.step": "first",
      "autonomous_mcp.workflow.step.status": "ok",
      "gen_ai.tool.name": "inproc_echo",
    });
    expect(hops.map((s) => s.parentSpanId).sort()).toEqual([first.spanId, second.spanId].sort());
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([wf.traceId]));
    const received = h.seen.map((m) => traceparentParts(m["traceparent"]));
    expect(received.map((r) => r.trace)).toEqual([wf.traceId, wf.traceId]);
    expect(received.map((r) => r.parent).sort()).toEqual(hops.map((s) => s.spanId).sort());
  });

  it("routed requests (resources/read) are hops too, carrying the traceparent in params._meta", async () => {
    await asFront(
      h,
      "resources/read",
      { uri: "test://thing" },
      { traceparent: CLIENT_TRACEPARENT },
      (origin) => h.agg.forward("inproc", "resources/read", { uri: "test://thing" }, origin),
    );
    const spans = await h.flush();
    const server = one(spans, "resources/read", KIND.server);
    const hop = one(spans, "resources/read", KIND.client);
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(hop.parentSpanId).toBe(server.spanId);
    expect(hop.attributes["mcp.resource.uri"]).toBe("test://thing");
    expect(h.seen).toEqual([
      { method: "resources/read", traceparent: `00-${CLIENT_TRACE}-${hop.spanId}-01` },
    ]);
  });

  it("the same calls feed the duration histograms with the catalog's tool names", async () => {
    await asFront(h, "tools/call", { name: "inproc_echo" }, undefined, (origin) =>
      h.agg.callTool("inproc_echo", { message: "x" }, origin),
    );
    await asFront(h, "tools/call", { name: "nope_unknown" }, undefined, (origin) =>
      h.agg.callTool("nope_unknown", {}, origin),
    ).catch(() => undefined);
    const { body } = await h.metrics.render();
    expect(body).toContain(
      'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="inproc_echo",error_type="",network_transport="tcp"} 1',
    );
    expect(body).toContain(
      'mcp_client_operation_duration_seconds_count{mcp_method_name="tools/call",server="inproc",gen_ai_tool_name="echo",error_type=""} 1',
    );
    expect(body).toContain(
      'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="other",error_type="-32602",network_transport="tcp"} 1',
    );
    expect(body).not.toContain("nope_unknown");
  });
});

describe("telemetry.recordPayloads: true", () => {
  it("records arguments and results on the spans", async () => {
    const tmp = await tempDir();
    const h = await start(tmp.dir, { telemetry: { recordPayloads: true } });
    try {
      await asFront(
        h,
        "tools/call",
        { name: "inproc_echo", arguments: { message: "opt-in" } },
        undefined,
        (o) => h.agg.callTool("inproc_echo", { message: "opt-in" }, o),
      );
      const spans = await h.flush();
      const hop = one(spans, "tools/call echo", KIND.client);
      const server = one(spans, "tools/call inproc_echo", KIND.server);
      expect(hop.attributes["gen_ai.tool.call.arguments"]).toBe('{"message":"opt-in"}');
      expect(hop.attributes["gen_ai.tool.call.result"]).toBe('{"content":[{"type":"text","text":"opt-in"}]}');
      expect(server.attributes["gen_ai.tool.call.arguments"]).toBe('{"message":"opt-in"}');
    } finally {
      await h.close();
      await tmp.cleanup();
    }
  });
});
