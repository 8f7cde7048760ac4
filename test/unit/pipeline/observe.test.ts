import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { pino } from "pino";
import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import { AggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { CallStats, createObserveLayer, type CallEvent } from "../../../src/pipeline/middleware/observe.js";
import { createValidateLayer } from "../../../src/pipeline/middleware/validate.js";
import type { Logger } from "../../../src/logger.js";
import { makeCtx, makeRoute, silentLogger, textResult } from "../../helpers/pipeline.js";

function memoryLogger(level: "debug" | "info"): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  );
  return { log, lines };
}

const route = makeRoute({ server: "memory", tool: "read_graph", readOnly: true });

describe("observe layer", () => {
  it("counts every outcome once per server and keeps the last error", async () => {
    let now = 1_000;
    const stats = new CallStats({ now: () => now });
    const outcomes: Array<Error | ReturnType<typeof textResult>> = [
      textResult("ok"),
      textResult("tool failed", true),
      new ProtocolError(ProtocolErrorCode.InternalError, "rpc boom"),
      new AggregatorError("DOWNSTREAM_TIMEOUT", "timed out"),
      new AggregatorError("BREAKER_OPEN", "open"),
      new AggregatorError("SERVER_BUSY", "busy"),
      new AggregatorError("SERVER_UNAVAILABLE", "down"),
      new AggregatorError("CANCELLED", "cancelled"),
    ];
    let i = 0;
    const h = compose([createObserveLayer(stats, silentLogger)], async () => {
      const o = outcomes[i++];
      if (o instanceof Error) throw o;
      return o ?? textResult("ok");
    });
    for (let k = 0; k < outcomes.length; k++) {
      now += 1;
      await h(makeCtx(route)).catch(() => undefined);
    }
    // invalid arguments: validate returns an isError result and marks it
    const strict = makeRoute({ server: "memory", inputSchema: { type: "object", required: ["x"] } });
    await compose([createObserveLayer(stats, silentLogger), createValidateLayer()], async () =>
      textResult("never"),
    )(makeCtx(strict));

    const s = stats.snapshot("memory");
    expect(s?.calls).toBe(9);
    // Every failure but the caller's own cancellation counts as an error.
    expect(s?.errors).toBe(7);
    expect(s?.outcomes).toEqual({
      ok: 1,
      tool_error: 1,
      rpc_error: 1,
      timeout: 1,
      breaker_open: 1,
      busy: 1,
      unavailable: 1,
      cancelled: 1,
      invalid: 1,
    });
    expect(s?.lastError?.message).toContain("Invalid arguments");
    expect(stats.snapshot("other")).toBeUndefined();
    expect(Object.keys(stats.snapshotAll())).toEqual(["memory"]);
  });

  it("rethrows errors unchanged", async () => {
    const err = new ProtocolError(ProtocolErrorCode.InternalError, "boom");
    const h = compose([createObserveLayer(new CallStats(), silentLogger)], () => Promise.reject(err));
    await expect(h(makeCtx(route))).rejects.toBe(err);
  });

  it("computes p50/p99 over a bounded ring of recent durations", () => {
    const stats = new CallStats({ window: 1000 });
    for (let ms = 1; ms <= 100; ms++) stats.record("s", "ok", ms);
    expect(stats.snapshot("s")).toMatchObject({ p50Ms: 50, p99Ms: 99 });
    // 1,000 more fast calls push every old duration out of the ring
    for (let k = 0; k < 1000; k++) stats.record("s", "ok", 2);
    expect(stats.snapshot("s")).toMatchObject({ calls: 1100, p50Ms: 2, p99Ms: 2 });
    expect(new CallStats().snapshot("none")).toBeUndefined();
  });

  it("binds ctx.log to reqId, server and tool and logs at debug with outcome, attempts and cache note", async () => {
    const { log, lines } = memoryLogger("debug");
    const h = compose([createObserveLayer(new CallStats(), log)], async (ctx) => {
      ctx.attempts = 2;
      ctx.cacheOutcome = "miss";
      ctx.log.info("inside");
      return textResult("ok");
    });
    const ctx = makeCtx(route);
    await h(ctx);
    expect(lines[0]).toMatchObject({
      msg: "inside",
      reqId: ctx.requestId,
      server: "memory",
      tool: "read_graph",
    });
    expect(lines[1]).toMatchObject({
      msg: "call ok",
      outcome: "ok",
      attempts: 2,
      cache: "miss",
      reqId: ctx.requestId,
    });
    expect(typeof lines[1]?.["durationMs"]).toBe("number");

    const failing = compose([createObserveLayer(new CallStats(), log)], () =>
      Promise.reject(new Error("nope")),
    );
    await failing(makeCtx(route)).catch(() => undefined);
    expect(lines[2]).toMatchObject({ msg: "call failed", outcome: "rpc_error", err: "nope" });
  });

  it("logs nothing per call at info level", async () => {
    const { log, lines } = memoryLogger("info");
    await compose([createObserveLayer(new CallStats(), log)], async () => textResult("ok"))(makeCtx(route));
    expect(lines).toEqual([]);
  });

  it("calls the onCall hook once per call", async () => {
    const events: CallEvent[] = [];
    const stats = new CallStats({ onCall: (e) => events.push(e) });
    const h = compose([createObserveLayer(stats, silentLogger)], async () => textResult("ok"));
    const ctx = makeCtx(route);
    await h(ctx);
    expect(events).toEqual([
      {
        requestId: ctx.requestId,
        server: "memory",
        tool: "read_graph",
        outcome: "ok",
        durationMs: expect.any(Number),
        attempts: 0,
        cache: undefined,
        at: expect.any(Number),
        ctx: expect.objectContaining({ route }),
        error: undefined,
        settled: expect.objectContaining({ content: [{ type: "text", text: "ok" }] }),
      },
    ]);
  });
});
