import { describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { ServerLimiter, createLimitLayer } from "../../../src/pipeline/middleware/limit.js";
import type { CallContext } from "../../../src/pipeline/types.js";
import { deferred, flush, makeCtx, makeRoute, textResult, type Deferred } from "../../helpers/pipeline.js";

const read = makeRoute({ server: "memory", tool: "read_graph", readOnly: true });
const write = makeRoute({ server: "memory", tool: "create_entities", readOnly: false });

/** A next handler whose calls stay open until the test resolves them. */
function gated() {
  const pending: Array<{ ctx: CallContext; gate: Deferred<CallToolResult> }> = [];
  const handler = (ctx: CallContext) => {
    const gate = deferred<CallToolResult>();
    pending.push({ ctx, gate });
    return gate.promise;
  };
  return { handler, pending };
}

describe("limit layer", () => {
  it("runs at most maxConcurrency calls and queues the rest in FIFO order", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 2,
      maxQueue: 10,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const results = [1, 2, 3, 4].map((i) => h(makeCtx(read, { i })));
    await flush();
    expect(pending.map((p) => p.ctx.args["i"])).toEqual([1, 2]);
    expect([limiter.inFlight, limiter.queued]).toEqual([2, 2]);
    pending[1]?.gate.resolve(textResult("2"));
    await flush();
    expect(pending.map((p) => p.ctx.args["i"])).toEqual([1, 2, 3]);
    for (const p of pending.slice()) p.gate.resolve(textResult("x"));
    await flush();
    for (const p of pending) p.gate.resolve(textResult("x"));
    await Promise.all(results);
    expect([limiter.inFlight, limiter.queued]).toEqual([0, 0]);
  });

  it("fails fast with SERVER_BUSY when the queue is full", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 1,
      maxQueue: 1,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const a = h(makeCtx(read));
    const b = h(makeCtx(read));
    const err = await h(makeCtx(read)).catch((e: unknown) => e);
    expect(isAggregatorError(err, "SERVER_BUSY")).toBe(true);
    expect((err as Error).message).toBe(
      "memory is busy: 1 calls in flight and 1 queued (maxConcurrency 1, maxQueue 1); try again shortly",
    );
    await flush();
    pending[0]?.gate.resolve(textResult("a"));
    await flush();
    pending[1]?.gate.resolve(textResult("b"));
    await Promise.all([a, b]);
  });

  it("a queued call whose signal aborts leaves the queue at once with CANCELLED", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 1,
      maxQueue: 5,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const first = h(makeCtx(read));
    const ac = new AbortController();
    const queued = h(makeCtx(read, {}, ac.signal)).catch((e: unknown) => e);
    await flush();
    expect(limiter.queued).toBe(1);
    ac.abort();
    const err = await queued;
    expect(isAggregatorError(err, "CANCELLED")).toBe(true);
    expect(limiter.queued).toBe(0);
    pending[0]?.gate.resolve(textResult("ok"));
    await first;
    expect(pending).toHaveLength(1);
    expect(limiter.inFlight).toBe(0);
  });

  it("serializeWrites: writes never overlap each other across 50 mixed calls; reads run beside them", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 8,
      maxQueue: 100,
      serializeWrites: true,
    });
    let writes = 0;
    let maxWrites = 0;
    let readsDuringWrite = 0;
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    const h = compose([createLimitLayer(() => limiter)], async (ctx) => {
      const isWrite = !ctx.route.policy.hints.readOnly;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (isWrite) {
        writes++;
        maxWrites = Math.max(maxWrites, writes);
        order.push(ctx.args["i"] as number);
      } else if (writes > 0) readsDuringWrite++;
      await new Promise((r) => setTimeout(r, 1 + ((ctx.args["i"] as number) % 3)));
      if (isWrite) writes--;
      running--;
      return textResult("ok");
    });
    const calls = Array.from({ length: 50 }, (_, i) => h(makeCtx(i % 2 === 0 ? write : read, { i })));
    await Promise.all(calls);
    expect(maxWrites).toBe(1);
    expect(order).toEqual(Array.from({ length: 25 }, (_, k) => k * 2)); // writes keep FIFO order
    expect(readsDuringWrite).toBeGreaterThan(0);
    expect(maxRunning).toBeLessThanOrEqual(8);
  });

  it("without serializeWrites, writes run concurrently", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 4,
      maxQueue: 0,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const calls = [h(makeCtx(write)), h(makeCtx(write)), h(makeCtx(write))];
    await flush();
    expect(pending).toHaveLength(3);
    for (const p of pending) p.gate.resolve(textResult("ok"));
    await Promise.all(calls);
  });

  it("a read may pass a write that waits for another write; a write does not pass reads queued for slots", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 2,
      maxQueue: 10,
      serializeWrites: true,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const w1 = h(makeCtx(write, { n: "w1" }));
    const w2 = h(makeCtx(write, { n: "w2" }));
    const r1 = h(makeCtx(read, { n: "r1" }));
    await flush();
    expect(pending.map((p) => p.ctx.args["n"])).toEqual(["w1", "r1"]);
    expect(limiter.queued).toBe(1);
    pending[0]?.gate.resolve(textResult("w1"));
    await flush();
    expect(pending.map((p) => p.ctx.args["n"])).toEqual(["w1", "r1", "w2"]);
    for (const p of pending) p.gate.resolve(textResult("ok"));
    await Promise.all([w1, w2, r1]);
  });

  it("releases the slot when next throws", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 1,
      maxQueue: 0,
      serializeWrites: true,
    });
    const h = compose([createLimitLayer(() => limiter)], () => Promise.reject(new Error("boom")));
    await expect(h(makeCtx(write))).rejects.toThrow("boom");
    expect(limiter.inFlight).toBe(0);
    await expect(h(makeCtx(write))).rejects.toThrow("boom");
  });
  it("serves queued clients in turn: B's single call runs before A's backlog drains", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 1,
      maxQueue: 100,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const as = (n: string): CallContext => ({ ...makeCtx(read, { n }), client: "principal-a" });
    const calls = [h(as("a0"))];
    for (let i = 1; i <= 20; i++) calls.push(h(as(`a${i}`)));
    await flush();
    calls.push(h({ ...makeCtx(read, { n: "b" }), client: "principal-b" }));
    await flush();
    expect(limiter.queued).toBe(21);
    // a0 holds the only slot; when it ends, B (one call) is next, not a1..a20.
    pending[0]?.gate.resolve(textResult("a0"));
    await flush();
    expect(pending.map((p) => p.ctx.args["n"])).toEqual(["a0", "a1"]);
    pending[1]?.gate.resolve(textResult("a1"));
    await flush();
    expect(pending.map((p) => p.ctx.args["n"])).toEqual(["a0", "a1", "b"]);
    expect(limiter.queued).toBe(19);
    // Then A's backlog, in its own FIFO order.
    for (let i = 2; i < 22; i++) {
      pending[i]?.gate.resolve(textResult("x"));
      await flush();
    }
    expect(pending.map((p) => p.ctx.args["n"])).toEqual([
      "a0",
      "a1",
      "b",
      ...Array.from({ length: 19 }, (_, i) => `a${i + 2}`),
    ]);
    for (const p of pending) p.gate.resolve(textResult("x"));
    await Promise.all(calls);
    expect([limiter.inFlight, limiter.queued]).toEqual([0, 0]);
  });

  it("round robin across three clients; a cancelled waiter leaves its client's queue only", async () => {
    const limiter = new ServerLimiter({
      server: "memory",
      maxConcurrency: 1,
      maxQueue: 100,
      serializeWrites: false,
    });
    const { handler, pending } = gated();
    const h = compose([createLimitLayer(() => limiter)], handler);
    const first = h({ ...makeCtx(read, { n: "x" }), client: "x" });
    const ac = new AbortController();
    const calls: Promise<unknown>[] = [];
    for (const n of ["a1", "a2", "a3"]) calls.push(h({ ...makeCtx(read, { n }), client: "a" }));
    const cancelled = h({ ...makeCtx(read, { n: "b1" }, ac.signal), client: "b" }).catch((e: unknown) => e);
    calls.push(h({ ...makeCtx(read, { n: "b2" }), client: "b" }));
    calls.push(h({ ...makeCtx(read, { n: "c1" }), client: "c" }));
    await flush();
    ac.abort();
    expect(isAggregatorError(await cancelled, "CANCELLED")).toBe(true);
    expect(limiter.queued).toBe(5);
    for (let i = 0; i < 6; i++) {
      pending[i]?.gate.resolve(textResult("x"));
      await flush();
    }
    expect(pending.map((p) => p.ctx.args["n"])).toEqual(["x", "a1", "b2", "c1", "a2", "a3"]);
    await Promise.all([first, ...calls]);
  });
});
