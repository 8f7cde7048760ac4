/**
 * Micro-benchmark of telemetry's per-call cost on the call pipeline (no I/O): the real layers in the
 * shipped order around a forward that answers at once, wrapped in what the front does per request
 * (telemetry.inbound … end). Interleaved rounds, median of each variant, ns per call:
 *
 *   before     the pipeline without the hop layer and no inbound hook (the code before telemetry)
 *   off        the shipped pipeline, telemetry off (no metrics, no tracing): hooks return NOOP_SPAN
 *   metrics    the HTTP front's always-on histograms (mcp.server/client.operation.duration)
 *   traced     metrics + tracing on, sampled at 100 % (SERVER + CLIENT span per call), BatchSpanProcessor
 *              over an exporter that drops the batches (the export's network cost is off the call path)
 *
 *   npm run build && node bench/telemetry-micro.mjs [--calls=100000] [--rounds=5]
 */
import { pino } from "pino";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { buildPipeline } from "../dist/pipeline/build.js";
import { compose } from "../dist/pipeline/compose.js";
import { CallStats, createObserveLayer } from "../dist/pipeline/middleware/observe.js";
import { ResultCache, createCacheLayer } from "../dist/pipeline/middleware/cache.js";
import { BreakerRegistry, createBreakerLayer } from "../dist/pipeline/middleware/breaker.js";
import { ServerLimiter, createLimitLayer } from "../dist/pipeline/middleware/limit.js";
import { createValidateLayer, SchemaCompiler } from "../dist/pipeline/middleware/validate.js";
import { createDeadlineLayer } from "../dist/pipeline/middleware/deadline.js";
import { createRetryLayer } from "../dist/pipeline/middleware/retry.js";
import { CallCancel } from "../dist/pipeline/cancel.js";
import { Metrics } from "../dist/metrics.js";
import { Telemetry } from "../dist/telemetry/index.js";

const arg = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const CALLS = arg("calls", 100_000);
const ROUNDS = arg("rounds", 5);
const log = pino({ level: "info" }, pino.destination("/dev/null"));
const result = { content: [{ type: "text", text: "hello" }] };
const forward = async () => result;
const retryFor = () => ({ retries: 2, minTimeoutMs: 100, maxTimeoutMs: 1000, factor: 2, randomize: true });
const breakerSettings = () => ({
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingCountTimeoutMs: 10_000,
  resetTimeoutMs: 30_000,
});
const route = {
  publicName: "s_echo",
  server: "s",
  originalName: "echo",
  inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  policy: {
    hints: { readOnly: true, idempotent: true, destructive: false },
    retrySafe: true,
    timeoutMs: 30_000,
    totalTimeoutMs: 60_000,
    cacheTtlMs: 0,
  },
};

/** One pipeline (own limiter, breakers, stats) per variant, so no variant warms another's state. */
function variant(telemetry, withHop) {
  const limiter = new ServerLimiter({
    server: "s",
    maxConcurrency: 16,
    maxQueue: 4096,
    serializeWrites: false,
  });
  const breakers = new BreakerRegistry(breakerSettings);
  const parts = {
    log,
    stats: new CallStats({ onCall: () => undefined }),
    cache: new ResultCache(),
    breakers,
    limiterFor: () => limiter,
    retryFor,
    forward,
    telemetry,
  };
  const pipeline = withHop
    ? buildPipeline(parts)
    : compose(
        [
          createObserveLayer(parts.stats, log),
          createValidateLayer(new SchemaCompiler(), {}),
          createCacheLayer(parts.cache),
          createDeadlineLayer(Date.now),
          createRetryLayer(retryFor, (server) => breakers.stateOf(server) === "open"),
          createBreakerLayer(breakers),
          createLimitLayer(() => limiter),
        ],
        forward,
      );
  const request = { sessionId: "s1", mcpReq: { id: 1, method: "tools/call" } };
  const params = { name: "s_echo", arguments: { message: "hi" } };
  // Both shapes are what a front's async request handler does: await the pipeline, answer. With the
  // hook (given to the lead) the span is opened before and ended with the answer; it travels in
  // CallOrigin.trace, which the router copies into the CallContext it builds anyway.
  const call = withHop
    ? async () => {
        const span = telemetry.inbound(request, params, "http", "2025-11-25");
        try {
          const result = await pipeline(ctxOf(span));
          span.end(result);
          return result;
        } catch (error) {
          span.fail(error);
          throw error;
        }
      }
    : async () => {
        const result = await pipeline(ctxOf(undefined));
        return result;
      };
  return { call, close: () => breakers.shutdown() };
}

const ctxOf = (trace) => ({
  requestId: "x",
  route,
  args: { message: "hi" },
  cancel: new CallCancel(),
  trace,
  log,
  attempt: 0,
  attemptTimeoutMs: 0,
  deadlineAt: 0,
  notes: {},
});

async function run(handler, inflight) {
  const per = CALLS / inflight;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      for (let i = 0; i < per; i++) await handler();
    }),
  );
  return Number(process.hrtime.bigint() - t0) / CALLS;
}

const metricsOnly = new Telemetry({ knownTool: () => true, knownServerTool: () => true });
metricsOnly.useMetrics(new Metrics({ defaultMetrics: false }).operations);
const traced = new Telemetry({ knownTool: () => true, knownServerTool: () => true });
traced.useMetrics(new Metrics({ defaultMetrics: false }).operations);
const dropped = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
await traced.startTracing(
  { OTEL_TRACES_EXPORTER: "otlp" },
  { serviceVersion: "bench", spanProcessors: [new BatchSpanProcessor(dropped, { maxQueueSize: 65_536 })] },
);
const variants = {
  before: variant(new Telemetry(), false),
  off: variant(new Telemetry(), true),
  metrics: variant(metricsOnly, true),
  traced: variant(traced, true),
};

const samples = Object.fromEntries(
  Object.keys(variants).flatMap((name) => [1, 32].map((n) => [`${name}@${n}`, []])),
);
for (let round = 0; round <= ROUNDS; round++) {
  for (const inflight of [1, 32]) {
    for (const [name, v] of Object.entries(variants)) {
      const ns = await run(v.call, inflight);
      if (round > 0) samples[`${name}@${inflight}`].push(ns); // round 0 warms up
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const inflight of [1, 32]) {
  const base = median(samples[`before@${inflight}`]);
  const cells = Object.keys(variants).map((name) => {
    const m = median(samples[`${name}@${inflight}`]);
    return `${name} ${m.toFixed(0)} ns (${m - base >= 0 ? "+" : ""}${(m - base).toFixed(0)})`;
  });
  process.stdout.write(`${inflight} in flight, median of ${ROUNDS}: ${cells.join("; ")}\n`);
}
for (const v of Object.values(variants)) v.close();
await traced.shutdown(1000);
