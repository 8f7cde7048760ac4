import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { buildPipeline, buildRequestPipeline } from "../../../src/pipeline/build.js";
import { BreakerRegistry } from "../../../src/pipeline/middleware/breaker.js";
import { ResultCache } from "../../../src/pipeline/middleware/cache.js";
import { ServerLimiter } from "../../../src/pipeline/middleware/limit.js";
import { CallStats } from "../../../src/pipeline/middleware/observe.js";
import type { CallContext, Handler, ToolRoute } from "../../../src/pipeline/types.js";
import { PIPELINE_ATTR, Telemetry, type CallSpan } from "../../../src/telemetry/index.js";
import {
  deferred,
  makeCtx,
  makeRoute,
  scripted,
  silentLogger,
  textResult,
  unavailable,
  flush,
} from "../../helpers/pipeline.js";

/** The shipped pipeline (real layers) with tracing on into the SDK's in-memory exporter. */
async function setup(forward: Handler, maxConcurrency = 4) {
  const exporter = new InMemorySpanExporter();
  const telemetry = new Telemetry();
  await telemetry.startTracing(
    { OTEL_TRACES_EXPORTER: "otlp" },
    { serviceVersion: "t", spanProcessors: [new SimpleSpanProcessor(exporter)] },
  );
  const breakers = new BreakerRegistry(() => ({
    errorThresholdPercentage: 50,
    volumeThreshold: 100,
    rollingCountTimeoutMs: 60_000,
    resetTimeoutMs: 30_000,
  }));
  const limiter = new ServerLimiter({ server: "srv", maxConcurrency, maxQueue: 10, serializeWrites: false });
  const parts = {
    log: silentLogger,
    stats: new CallStats(),
    cache: new ResultCache(),
    breakers,
    limiterFor: () => limiter,
    retryFor: () => ({ retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2, factor: 1, randomize: false }),
    forward,
    telemetry,
  };
  cleanups.push(async () => {
    breakers.shutdown();
    await telemetry.shutdown();
  });
  return {
    handler: buildPipeline(parts),
    parts,
    telemetry,
    breakers,
    limiter,
    spans: () => exporter.getFinishedSpans(),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A context as the router builds it: the request's span in `trace`, the caller's `_meta` in `meta`. */
function ctxWith(route: ToolRoute, trace: CallSpan, meta?: Record<string, unknown>): CallContext {
  return { ...makeCtx(route, { q: 1 }), trace, ...(meta ? { meta } : {}) };
}

const request = (name: string) => ({ sessionId: name, mcpReq: { id: 1, method: "tools/call" } });

function inbound(telemetry: Telemetry, name: string): CallSpan {
  return telemetry.inbound(request(name), { name }, "stdio");
}

const hops = (spans: ReadableSpan[]) => spans.filter((s) => s.kind === SpanKind.CLIENT);

describe("the hop layer inside the real pipeline", () => {
  it("one CLIENT span per retry attempt, each attempt's _meta carrying its own span; the caller's _meta untouched", async () => {
    const sent: (Record<string, unknown> | undefined)[] = [];
    const forward = scripted([unavailable(), textResult("ok")]);
    const recording: Handler = (ctx) => {
      sent.push(ctx.meta);
      return forward(ctx);
    };
    const { handler, telemetry, spans } = await setup(recording);
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true });
    const span = inbound(telemetry, "srv_read");
    const callerMeta = Object.freeze({ "vendor/x": 1 });
    const result = await handler(ctxWith(route, span, callerMeta));
    span.end(result);
    const [first, second] = hops(spans());
    expect(hops(spans())).toHaveLength(2);
    expect(first?.name).toBe("tools/call read");
    expect(first?.attributes[PIPELINE_ATTR.retryAttempt]).toBe(1);
    expect(first?.attributes["error.type"]).toBe("SERVER_UNAVAILABLE");
    expect(second?.attributes[PIPELINE_ATTR.retryAttempt]).toBe(2);
    expect(second?.attributes["error.type"]).toBeUndefined();
    const server = spans().find((s) => s.kind === SpanKind.SERVER) as ReadableSpan;
    expect(server.attributes[PIPELINE_ATTR.retryAttempt]).toBe(2);
    for (const hop of [first, second])
      expect(hop?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(sent.map((m) => m?.["traceparent"])).toEqual([
      `00-${server.spanContext().traceId}-${first?.spanContext().spanId}-01`,
      `00-${server.spanContext().traceId}-${second?.spanContext().spanId}-01`,
    ]);
    expect(sent.map((m) => m?.["vendor/x"])).toEqual([1, 1]);
    expect(callerMeta).toEqual({ "vendor/x": 1 });
  });

  it("a forward that throws synchronously: the hop ends failed and the call still rejects through every layer", async () => {
    const { handler, telemetry, spans } = await setup(() => {
      throw new Error("sync boom");
    });
    const route = makeRoute({ server: "srv", tool: "write", readOnly: false });
    const span = inbound(telemetry, "srv_write");
    await expect(handler(ctxWith(route, span))).rejects.toThrow("sync boom");
    expect(hops(spans()).map((h) => h.attributes["error.type"])).toEqual(["_OTHER"]);
  });

  it("an open breaker: no hop, the breaker state on the call's span", async () => {
    const { handler, telemetry, breakers, spans } = await setup(scripted([textResult("never")]));
    breakers.forceOpen("srv", "failed");
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true });
    const span = inbound(telemetry, "srv_read");
    await handler(ctxWith(route, span)).then(
      (r) => span.end(r),
      (e: unknown) => span.fail(e),
    );
    expect(hops(spans())).toEqual([]);
    const server = spans()[0] as ReadableSpan;
    expect(server.attributes[PIPELINE_ATTR.breakerState]).toBe("open");
    expect(server.attributes["error.type"]).toBe("BREAKER_OPEN");
  });

  it("a cache hit: no hop, cache=hit on the call's span (the miss before it: cache=miss and a hop)", async () => {
    const { handler, telemetry, spans } = await setup(scripted([textResult("cached")]));
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true, cacheTtlMs: 60_000 });
    for (const name of ["first", "second"]) {
      const span = telemetry.inbound(request(name), { name }, "stdio");
      span.end(await handler(ctxWith(route, span)));
    }
    const calls = spans().filter((s) => s.kind === SpanKind.SERVER);
    expect(calls.map((s) => s.attributes[PIPELINE_ATTR.cache])).toEqual(["miss", "hit"]);
    expect(hops(spans())).toHaveLength(1);
  });

  it("a call that waited for a slot records the wait; one that did not, none", async () => {
    const gate = deferred<void>();
    const { handler, telemetry, limiter, spans } = await setup(async () => {
      await gate.promise;
      return textResult("ok");
    }, 1);
    const route = makeRoute({ server: "srv", tool: "read", readOnly: true });
    const a = inbound(telemetry, "a");
    const b = inbound(telemetry, "b");
    const first = handler(ctxWith(route, a));
    const second = handler(ctxWith(route, b));
    // The second call is in the limiter's queue (the first holds the only slot) before the gate opens.
    for (let i = 0; i < 1000 && limiter.queued === 0; i++) await flush();
    expect(limiter.queued).toBe(1);
    gate.resolve();
    a.end(await first);
    b.end(await second);
    const [sa, sb] = spans().filter((s) => s.kind === SpanKind.SERVER);
    expect(sa?.attributes[PIPELINE_ATTR.queueWaitMs]).toBeUndefined();
    expect(typeof sb?.attributes[PIPELINE_ATTR.queueWaitMs]).toBe("number");
  });

  it("routed requests: the traceparent goes into a copy of params._meta", async () => {
    const seen: Record<string, unknown>[] = [];
    const { parts, telemetry, spans } = await setup(scripted([textResult("x")]));
    const handler = buildRequestPipeline(parts, (ctx) => {
      seen.push(ctx.args);
      return Promise.resolve(textResult("read"));
    });
    const route = makeRoute({ server: "srv", tool: "resources/read", readOnly: true });
    const params = Object.freeze({ uri: "test://a", _meta: Object.freeze({ progressToken: 5 }) });
    const span = telemetry.inbound({ mcpReq: { id: 2, method: "resources/read" } }, params, "http");
    span.end(await handler({ ...makeCtx(route, params), trace: span }));
    const hop = hops(spans())[0] as ReadableSpan;
    expect(hop.name).toBe("resources/read");
    expect(hop.attributes["mcp.resource.uri"]).toBe("test://a");
    expect(seen).toEqual([
      {
        uri: "test://a",
        _meta: {
          progressToken: 5,
          traceparent: `00-${hop.spanContext().traceId}-${hop.spanContext().spanId}-01`,
        },
      },
    ]);
  });
});
