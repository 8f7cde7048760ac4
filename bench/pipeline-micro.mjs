/**
 * Micro-benchmark of the call pipeline alone (no I/O): the real layers in the shipped order around a
 * forward that answers at once. Prints ns per call, sequential and with 32 calls in flight, and the
 * same with an empty pipeline (router-less baseline: just the forward). Run after `npm run build`.
 *
 *   node bench/pipeline-micro.mjs [--calls=200000]
 */
import { pino } from "pino";
import { buildPipeline } from "../dist/pipeline/build.js";
import { CallStats } from "../dist/pipeline/middleware/observe.js";
import { ResultCache } from "../dist/pipeline/middleware/cache.js";
import { BreakerRegistry } from "../dist/pipeline/middleware/breaker.js";
import { ServerLimiter } from "../dist/pipeline/middleware/limit.js";
import { createCallContext } from "../dist/pipeline/context.js";

const CALLS = Number(process.argv.find((a) => a.startsWith("--calls="))?.split("=")[1] ?? 200_000);
const log = pino({ level: "info" }, pino.destination("/dev/null"));
const result = { content: [{ type: "text", text: "hello" }] };
const forward = async () => result;
const limiter = new ServerLimiter({
  server: "s",
  maxConcurrency: 16,
  maxQueue: 4096,
  serializeWrites: false,
});
const breakers = new BreakerRegistry(() => ({
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingCountTimeoutMs: 10_000,
  resetTimeoutMs: 30_000,
}));
const pipeline = buildPipeline({
  log,
  stats: new CallStats({ onCall: () => undefined }),
  cache: new ResultCache(),
  breakers,
  limiterFor: () => limiter,
  retryFor: () => ({ retries: 2, minTimeoutMs: 100, maxTimeoutMs: 1000, factor: 2, randomize: true }),
  forward,
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
// Each call brings its own caller signal, as a front request does (the SDK makes one per request).
const ctxOf = () =>
  createCallContext({
    requestId: "x",
    route,
    args: { message: "hi" },
    signal: new AbortController().signal,
    log,
  });

/** Wall ns per call and CPU ns per call (user + system of this process: steadier on a shared machine). */
async function run(handler, inflight) {
  const per = CALLS / inflight;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      for (let i = 0; i < per; i++) await handler(ctxOf());
    }),
  );
  const c = process.cpuUsage(c0);
  const wall = Number(process.hrtime.bigint() - t0) / CALLS;
  return `${wall.toFixed(0)} (CPU ${((1000 * (c.user + c.system)) / CALLS).toFixed(0)})`;
}
const bare = (ctx) => forward(ctx);
for (let round = 0; round < 3; round++) {
  const rows = [];
  for (const inflight of [1, 32]) {
    rows.push(
      `${inflight} in flight: pipeline ${await run(pipeline, inflight)} ns/call, forward alone ${await run(bare, inflight)} ns/call`,
    );
  }
  if (round > 0) process.stdout.write(`${rows.join("; ")}\n`);
}
breakers.shutdown();
