import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { AggregatorError } from "../../../src/errors.js";
import { Telemetry, NOOP_SPAN, PIPELINE_ATTR } from "../../../src/telemetry/index.js";
import type { PayloadSettings } from "../../../src/telemetry/telemetry.js";

/** Telemetry with tracing on into an in-memory exporter (the SDK's own), OTLP never involved. */
async function traced(
  payloads: PayloadSettings = { recordPayloads: false, payloadMaxChars: 4096 },
  env: Record<string, string> = {},
): Promise<{ telemetry: Telemetry; spans: () => ReadableSpan[] }> {
  const exporter = new InMemorySpanExporter();
  const telemetry = new Telemetry({ payloads: () => payloads });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const decision = await telemetry.startTracing(
      { OTEL_TRACES_EXPORTER: "otlp" },
      { serviceVersion: "9.9.9", spanProcessors: [new SimpleSpanProcessor(exporter)] },
    );
    expect(decision.on).toBe(true);
  } finally {
    for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
  }
  open.push(telemetry);
  return { telemetry, spans: () => exporter.getFinishedSpans() };
}

const open: Telemetry[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.shutdown();
});

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

function req(method: string, meta?: Record<string, unknown>, id: string | number = 7) {
  return { sessionId: "sess-1", mcpReq: { id, method, ...(meta ? { _meta: meta } : {}) } };
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0] as ReadableSpan;
}

describe("inbound SERVER spans (MCP semantic conventions)", () => {
  it("names and attributes a tools/call span", async () => {
    const { telemetry, spans } = await traced();
    const span = telemetry.inbound(
      req("tools/call"),
      { name: "github_get_issue", arguments: { secret: "s3cr3t" } },
      "stdio",
      "2025-11-25",
    );
    span.end({ content: [{ type: "text", text: "private result" }] });
    const s = only(spans(), "tools/call github_get_issue");
    expect(s.kind).toBe(SpanKind.SERVER);
    expect(s.attributes).toEqual({
      "mcp.method.name": "tools/call",
      "network.transport": "pipe",
      "mcp.session.id": "sess-1",
      "mcp.protocol.version": "2025-11-25",
      "jsonrpc.request.id": "7",
      "gen_ai.tool.name": "github_get_issue",
      "gen_ai.operation.name": "execute_tool",
    });
    expect(s.status.code).toBe(SpanStatusCode.UNSET);
    expect(s.parentSpanContext).toBeUndefined();
    expect(s.resource.attributes["service.name"]).toBe("autonomous-mcp");
    expect(s.resource.attributes["service.version"]).toBe("9.9.9");
    // Arguments and results are not recorded by default.
    expect(JSON.stringify(s.attributes)).not.toContain("s3cr3t");
    expect(JSON.stringify(s.attributes)).not.toContain("private result");
  });

  it("an inbound traceparent in _meta is the parent; tracestate and baggage are kept for the hops", async () => {
    const { telemetry, spans } = await traced();
    const server = telemetry.inbound(
      req("tools/call", {
        traceparent: TRACEPARENT,
        tracestate: "rojo=00f067aa0ba902b7",
        baggage: "user=alice",
      }),
      { name: "echo" },
      "http",
    );
    const hop = telemetry.outbound("srv", "tools/call", "echo", server, 1);
    const callerMeta = Object.freeze({
      progressToken: 3,
      traceparent: "00-11111111111111111111111111111111-2222222222222222-01",
      "vendor/x": "kept",
    });
    const sent = hop.traceMeta(callerMeta);
    hop.end({ content: [] });
    server.end({ content: [] });
    expect(spans().map((x) => x.name)).toEqual(["tools/call echo", "tools/call echo"]);
    const serverSpan = spans().find((x) => x.kind === SpanKind.SERVER) as ReadableSpan;
    const clientSpan = spans().find((x) => x.kind === SpanKind.CLIENT) as ReadableSpan;
    expect(serverSpan.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(serverSpan.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(serverSpan.parentSpanContext?.isRemote).toBe(true);
    expect(clientSpan.spanContext().traceId).toBe(CLIENT_TRACE);
    expect(clientSpan.parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
    expect(clientSpan.attributes["network.transport"]).toBeUndefined();
    expect(serverSpan.attributes["network.transport"]).toBe("tcp");
    // The downstream gets OUR context (the client span), the caller's other keys, and a copy.
    expect(sent).not.toBe(callerMeta);
    expect(sent).toEqual({
      progressToken: 3,
      "vendor/x": "kept",
      traceparent: `00-${CLIENT_TRACE}-${clientSpan.spanContext().spanId}-01`,
      tracestate: "rojo=00f067aa0ba902b7",
      baggage: "user=alice",
    });
    expect(callerMeta.traceparent).toBe("00-11111111111111111111111111111111-2222222222222222-01");
  });

  it("a malformed or non-string traceparent starts a new trace instead of failing", async () => {
    const { telemetry, spans } = await traced();
    telemetry.inbound(req("tools/list", { traceparent: "00-zz-yy-01" }), undefined, "http").end({});
    telemetry.inbound(req("tools/list", { traceparent: { evil: true } }), undefined, "http").end({});
    telemetry.inbound(req("ping", { traceparent: 42 }, "abc"), undefined, "stdio").end({});
    const all = spans();
    expect(all.map((s) => s.name)).toEqual(["tools/list", "tools/list", "ping"]);
    for (const s of all) {
      expect(s.parentSpanContext).toBeUndefined();
      expect(s.spanContext().traceId).not.toBe(CLIENT_TRACE);
    }
    expect(all[2]?.attributes["jsonrpc.request.id"]).toBe("abc");
  });

  it("a hostile tool name: the span name is cut at 128 characters", async () => {
    const { telemetry, spans } = await traced();
    const long = "t".repeat(5000);
    telemetry.inbound(req("tools/call"), { name: long }, "http").fail({ code: -32602 });
    expect(spans()[0]?.name).toBe(`tools/call ${"t".repeat(128)}…`);
  });

  it("resources/read keeps the URI out of the span name; prompts/get names the prompt", async () => {
    const { telemetry, spans } = await traced();
    telemetry.inbound(req("resources/read"), { uri: "file:///etc/hosts" }, "http").end({});
    telemetry.inbound(req("prompts/get"), { name: "summarize" }, "http").end({});
    const read = only(spans(), "resources/read");
    expect(read.attributes["mcp.resource.uri"]).toBe("file:///etc/hosts");
    expect(read.attributes["gen_ai.tool.name"]).toBeUndefined();
    const prompt = only(spans(), "prompts/get summarize");
    expect(prompt.attributes["gen_ai.prompt.name"]).toBe("summarize");
    expect(prompt.attributes["gen_ai.operation.name"]).toBeUndefined();
  });
});

describe("error.type and span status", () => {
  it("JSON-RPC code, tool_error, our own error code, _OTHER", async () => {
    const { telemetry, spans } = await traced();
    const cases: [string, (s: ReturnType<Telemetry["inbound"]>) => void][] = [
      ["a", (s) => s.fail(Object.assign(new Error("Unknown tool: a"), { code: -32602 }))],
      ["b", (s) => s.end({ isError: true, content: [{ type: "text", text: "nope" }] })],
      ["c", (s) => s.fail(new AggregatorError("BREAKER_OPEN", "srv is failing; retry in 30 s"))],
      ["d", (s) => s.fail(new TypeError("boom"))],
      ["e", (s) => s.fail({ code: "lower case; not a code" })],
    ];
    for (const [name, finish] of cases) finish(telemetry.inbound(req("tools/call"), { name }, "stdio"));
    const byName = (n: string) => only(spans(), `tools/call ${n}`);
    expect(byName("a").attributes["error.type"]).toBe("-32602");
    expect(byName("a").status).toEqual({ code: SpanStatusCode.ERROR, message: "Unknown tool: a" });
    expect(byName("b").attributes["error.type"]).toBe("tool_error");
    expect(byName("b").status.code).toBe(SpanStatusCode.ERROR);
    expect(byName("c").attributes["error.type"]).toBe("BREAKER_OPEN");
    expect(byName("d").attributes["error.type"]).toBe("_OTHER");
    expect(byName("d").status.message).toBe("boom");
    expect(byName("e").attributes["error.type"]).toBe("_OTHER");
  });

  it("a span ends once: a second end or fail is ignored", async () => {
    const { telemetry, spans } = await traced();
    const span = telemetry.inbound(req("tools/call"), { name: "x" }, "stdio");
    span.end({});
    span.fail(new Error("late"));
    span.end({ isError: true });
    expect(spans()).toHaveLength(1);
    expect(spans()[0]?.attributes["error.type"]).toBeUndefined();
  });

  it("a failure message is bounded", async () => {
    const { telemetry, spans } = await traced();
    telemetry.inbound(req("tools/call"), { name: "x" }, "stdio").fail(new Error("x".repeat(10_000)));
    expect(spans()[0]?.status.message?.length).toBe(501);
  });
});

describe("pipeline attributes, hops and workflow steps", () => {
  it("set() lands on the span; hops carry their attempt; steps nest under the workflow call", async () => {
    const { telemetry, spans } = await traced();
    const wf = telemetry.inbound(req("tools/call"), { name: "triage" }, "http");
    wf.set(PIPELINE_ATTR.cache, "miss");
    const step = telemetry.step(wf, "triage", "fetch", "github_get_issue");
    const first = telemetry.outbound("github", "tools/call", "get_issue", step, 1);
    first.fail(new AggregatorError("DOWNSTREAM_TIMEOUT", "timed out"));
    const second = telemetry.outbound("github", "tools/call", "get_issue", step, 2);
    second.set(PIPELINE_ATTR.queueWaitMs, 12);
    second.end({ content: [] });
    step.set(PIPELINE_ATTR.retryAttempt, 2);
    step.end();
    wf.end({});
    const all = spans();
    const w = only(all, "tools/call triage");
    const s = only(all, "workflow step fetch");
    const hops = all.filter((x) => x.name === "tools/call get_issue");
    expect(w.attributes[PIPELINE_ATTR.cache]).toBe("miss");
    expect(s.kind).toBe(SpanKind.INTERNAL);
    expect(s.parentSpanContext?.spanId).toBe(w.spanContext().spanId);
    expect(s.attributes).toMatchObject({
      "autonomous_mcp.workflow.name": "triage",
      "autonomous_mcp.workflow.step": "fetch",
      "gen_ai.tool.name": "github_get_issue",
      [PIPELINE_ATTR.retryAttempt]: 2,
    });
    expect(hops.map((h) => h.parentSpanContext?.spanId)).toEqual([
      s.spanContext().spanId,
      s.spanContext().spanId,
    ]);
    expect(hops.map((h) => h.attributes[PIPELINE_ATTR.retryAttempt])).toEqual([1, 2]);
    expect(hops.map((h) => h.attributes["error.type"])).toEqual(["DOWNSTREAM_TIMEOUT", undefined]);
    expect(hops[1]?.attributes[PIPELINE_ATTR.queueWaitMs]).toBe(12);
    expect(hops[0]?.kind).toBe(SpanKind.CLIENT);
    expect(hops[0]?.attributes["autonomous_mcp.server"]).toBe("github");
    expect(new Set(all.map((x) => x.spanContext().traceId)).size).toBe(1);
  });

  it("a hop without a parent is a root span of its own trace", async () => {
    const { telemetry, spans } = await traced();
    const hop = telemetry.outbound("srv", "resources/read", "test://x", undefined);
    const meta = hop.traceMeta(undefined);
    hop.end({});
    const s = only(spans(), "resources/read");
    expect(s.parentSpanContext).toBeUndefined();
    expect(s.attributes["mcp.resource.uri"]).toBe("test://x");
    expect(meta).toEqual({ traceparent: `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01` });
  });
});

describe("payloads", () => {
  it("recorded only with recordPayloads, cut at payloadMaxChars", async () => {
    const { telemetry, spans } = await traced({ recordPayloads: true, payloadMaxChars: 20 });
    const server = telemetry.inbound(req("tools/call"), { name: "t", arguments: { q: "short" } }, "stdio");
    const hop = telemetry.outbound("srv", "tools/call", "t", server, 1, { q: "x".repeat(100) });
    hop.end({ content: [{ type: "text", text: "the answer" }] });
    server.end({ content: [] });
    const s = spans().find((x) => x.kind === SpanKind.SERVER) as ReadableSpan;
    const c = spans().find((x) => x.kind === SpanKind.CLIENT) as ReadableSpan;
    expect(s.attributes["gen_ai.tool.call.arguments"]).toBe('{"q":"short"}');
    expect(s.attributes["gen_ai.tool.call.result"]).toBe('{"content":[]}');
    expect(c.attributes["gen_ai.tool.call.arguments"]).toBe(`{"q":"${"x".repeat(14)}…`);
    expect(c.attributes["gen_ai.tool.call.result"]).toBe('{"content":[{"type":…');
  });

  it("an unserializable payload is named as such, not thrown", async () => {
    const { telemetry, spans } = await traced({ recordPayloads: true, payloadMaxChars: 100 });
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    telemetry.inbound(req("tools/call"), { name: "t", arguments: cyclic }, "stdio").end({ n: 10n });
    expect(spans()[0]?.attributes["gen_ai.tool.call.arguments"]).toBe("[unserializable]");
    expect(spans()[0]?.attributes["gen_ai.tool.call.result"]).toBe("[unserializable]");
  });
});

describe("sampling from the SDK's own variables", () => {
  it("OTEL_TRACES_SAMPLER=always_off: no span recorded, the traceparent still travels (not sampled)", async () => {
    const { telemetry, spans } = await traced(undefined, { OTEL_TRACES_SAMPLER: "always_off" });
    const server = telemetry.inbound(req("tools/call"), { name: "x" }, "stdio");
    const hop = telemetry.outbound("srv", "tools/call", "x", server, 1);
    const meta = hop.traceMeta({});
    hop.end({});
    server.end({});
    expect(spans()).toEqual([]);
    expect(String(meta?.["traceparent"])).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});

describe("off", () => {
  it("every hook returns the shared no-op handle, which passes _meta through untouched", () => {
    const telemetry = new Telemetry();
    const meta = { traceparent: TRACEPARENT };
    const span = telemetry.inbound(req("tools/call", meta), { name: "x" }, "stdio");
    expect(span).toBe(NOOP_SPAN);
    expect(telemetry.outbound("s", "tools/call", "x", span, 1)).toBe(NOOP_SPAN);
    expect(telemetry.step(span, "w", "s", "t")).toBe(NOOP_SPAN);
    expect(span.traceMeta(meta)).toBe(meta);
    expect(telemetry.tracing).toBe(false);
    expect(Object.isFrozen(NOOP_SPAN)).toBe(true);
  });
});
