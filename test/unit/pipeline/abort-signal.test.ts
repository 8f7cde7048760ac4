import { getEventListeners } from "node:events";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { DownstreamConnection } from "../../../src/downstream/connection.js";
import { waitForChange } from "../../../src/downstream/waitForChange.js";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { buildPipeline, buildRequestPipeline } from "../../../src/pipeline/build.js";
import { compose } from "../../../src/pipeline/compose.js";
import { BreakerRegistry } from "../../../src/pipeline/middleware/breaker.js";
import { ResultCache } from "../../../src/pipeline/middleware/cache.js";
import { createDeadlineLayer } from "../../../src/pipeline/middleware/deadline.js";
import { ServerLimiter, createLimitLayer } from "../../../src/pipeline/middleware/limit.js";
import { CallStats } from "../../../src/pipeline/middleware/observe.js";
import { createRetryLayer } from "../../../src/pipeline/middleware/retry.js";
import { follow, onAbort } from "../../../src/signals.js";
import type { CallContext, Handler } from "../../../src/pipeline/types.js";
import { faultServerEntry } from "../../helpers/fault-server.js";
import {
  deferred,
  flush,
  makeCtx,
  makeRoute,
  scripted,
  silentLogger,
  textResult,
  unavailable,
  type Deferred,
} from "../../helpers/pipeline.js";

const read = makeRoute({ server: "srv", tool: "read", readOnly: true, timeoutMs: 5_000 });
const cachedRead = makeRoute({ server: "srv", tool: "cached", readOnly: true, cacheTtlMs: 60_000 });
const write = makeRoute({ server: "srv", tool: "write", readOnly: false });

function pipelineOver(forward: Handler, limiter = newLimiter(4), shutdown?: AbortSignal) {
  const breakers = new BreakerRegistry(() => ({
    errorThresholdPercentage: 50,
    volumeThreshold: 1000,
    rollingCountTimeoutMs: 10_000,
    resetTimeoutMs: 30_000,
  }));
  const events: Array<Record<string, unknown>> = [];
  const handler = buildPipeline({
    log: silentLogger,
    stats: new CallStats({ onCall: (e) => events.push({ ...e }) }),
    cache: new ResultCache(),
    breakers,
    limiterFor: () => limiter,
    retryFor: () => ({ retries: 2, minTimeoutMs: 100, maxTimeoutMs: 1000, factor: 2, randomize: false }),
    forward,
    shutdown,
  });
  return { handler, breakers, events };
}

function newLimiter(maxConcurrency: number): ServerLimiter {
  return new ServerLimiter({ server: "srv", maxConcurrency, maxQueue: 10_000, serializeWrites: false });
}

const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

describe("typed context fields, each set by its owner layer", () => {
  it("a downstream call: observe sets log, deadline the signal and budgets, retry attempts; cache leaves cacheOutcome unset for an uncached tool", async () => {
    const seen: CallContext[] = [];
    const signals: AbortSignal[] = [];
    const caller = new AbortController();
    const { handler, breakers, events } = pipelineOver(async (ctx) => {
      seen.push(ctx);
      signals.push(ctx.signal);
      return textResult("ok");
    });
    const ctx = makeCtx(read, {}, caller.signal);
    ctx.deadlineAt = 0;
    expect(await handler(ctx)).toEqual(textResult("ok"));
    breakers.shutdown();
    expect(seen[0]).toBe(ctx);
    expect(ctx.attempts).toBe(1);
    expect(ctx.invalid).toBe(false);
    expect(ctx.cacheOutcome).toBeUndefined();
    expect(ctx.attemptTimeoutMs).toBe(5_000);
    expect(ctx.deadlineAt).toBeGreaterThan(0);
    // The call ran on the deadline layer's signal (seen by forward); its context has the caller's back.
    expect(signals[0]).not.toBe(caller.signal);
    expect(ctx.signal).toBe(caller.signal);
    expect(ctx.log).not.toBe(silentLogger);
    expect(events).toEqual([
      expect.objectContaining({ requestId: ctx.requestId, outcome: "ok", attempts: 1, cache: undefined }),
    ]);
  });

  it("validate sets invalid (and nothing inner runs); cache sets miss, then hit; retry counts every attempt", async () => {
    vi.useFakeTimers();
    try {
      const forward = scripted([unavailable(), textResult("second")]);
      const { handler, breakers, events } = pipelineOver(forward);
      const bad = makeCtx(
        makeRoute({
          ...{ server: "srv", tool: "typed", readOnly: true },
          inputSchema: { type: "object", required: ["q"] },
        }),
      );
      const refused = await handler(bad);
      expect(refused.isError).toBe(true);
      expect([bad.invalid, bad.attempts, bad.cacheOutcome]).toEqual([true, 0, undefined]);

      const first = makeCtx(cachedRead, { q: 1 });
      const pending = handler(first);
      await vi.advanceTimersByTimeAsync(200);
      expect(await pending).toEqual(textResult("second"));
      expect([first.invalid, first.cacheOutcome, first.attempts]).toEqual([false, "miss", 2]);

      const again = makeCtx(cachedRead, { q: 1 });
      expect(await handler(again)).toEqual(textResult("second"));
      expect([again.cacheOutcome, again.attempts]).toEqual(["hit", 0]);
      expect(forward.calls).toBe(2);
      expect(events.map((e) => [e["outcome"], e["cache"], e["attempts"]])).toEqual([
        ["invalid", undefined, 0],
        ["ok", "miss", 2],
        ["ok", "hit", 0],
      ]);
      breakers.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("one cancellation model: the call's AbortSignal reaches every wait", () => {
  afterEach(() => vi.useRealTimers());

  it("a call queued for a slot leaves the queue with CANCELLED when its caller aborts", async () => {
    const gate = deferred<CallToolResult>();
    const limiter = newLimiter(1);
    const forward = vi.fn((): Promise<CallToolResult> => gate.promise);
    const { handler, breakers } = pipelineOver(forward, limiter);
    const running = handler(makeCtx(write));
    const caller = new AbortController();
    const queued = handler(makeCtx(write, {}, caller.signal)).catch((e: unknown) => e);
    await flush(20);
    expect(limiter.queued).toBe(1);
    caller.abort(new Error("client cancel"));
    const err = await queued;
    expect(isAggregatorError(err, "CANCELLED")).toBe(true);
    expect(limiter.queued).toBe(0);
    expect(forward).toHaveBeenCalledTimes(1);
    gate.resolve(textResult("done"));
    expect(await running).toEqual(textResult("done"));
    breakers.shutdown();
  });

  it("the backoff sleep between attempts ends at once with CANCELLED", async () => {
    vi.useFakeTimers();
    const forward = scripted([unavailable()]);
    const { handler, breakers } = pipelineOver(forward);
    const caller = new AbortController();
    const result = handler(makeCtx(read, {}, caller.signal)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(forward.calls).toBe(1); // now sleeping 100 ms before the second attempt
    const timers = vi.getTimerCount();
    caller.abort(new Error("stop"));
    const err = await result;
    expect(isAggregatorError(err, "CANCELLED")).toBe(true);
    expect(forward.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(timers - 1); // the sleep's timer is gone
    breakers.shutdown();
  });

  it("a reconnect wait (waitForChange) ends with the caller's abort and removes its waiter", async () => {
    const waiters = new Set<() => void>();
    const caller = new AbortController();
    const wait = waitForChange(waiters, 60_000, caller.signal, () => new Error("cancelled")).catch(
      (e: unknown) => e,
    );
    expect(waiters.size).toBe(1);
    expect(abortListeners(caller.signal)).toBe(1);
    caller.abort();
    expect(((await wait) as Error).message).toBe("cancelled");
    expect(waiters.size).toBe(0);
    expect(abortListeners(caller.signal)).toBe(0);
  });

  it("a call to a server still starting waits in whenReady and leaves it with CANCELLED on abort", async () => {
    const entry = faultServerEntry("hold_initialize");
    const connection = new DownstreamConnection(
      {
        name: "held",
        type: "stdio",
        command: entry.command,
        args: entry.args,
        env: entry.env,
        headers: {},
        connectTimeoutMs: 60_000,
        restart: { maxRestarts: 0, windowMs: 60_000, initialDelayMs: 100, maxDelayMs: 100 },
        healthCheckIntervalMs: 0,
      },
      {
        log: pino({ level: "silent" }),
        clientInfo: { name: "test", version: "0" },
        clientCapabilities: () => ({}),
        hooks: {},
      },
    );
    const started = connection.start();
    try {
      expect(connection.state).toBe("starting");
      const caller = new AbortController();
      const call = connection
        .callTool(
          "anything",
          {},
          undefined,
          { signal: caller.signal, timeoutMs: 60_000 },
          Date.now() + 60_000,
        )
        .catch((e: unknown) => e);
      await flush(5);
      caller.abort(new Error("client cancel"));
      const err = await call;
      expect(isAggregatorError(err, "CANCELLED")).toBe(true);
      expect(abortListeners(caller.signal)).toBe(0);
    } finally {
      await connection.close();
      await started;
    }
  });

  it("a call cancelled before it starts never reaches the downstream (tools/call and routed requests)", async () => {
    const forward = vi.fn(async (): Promise<CallToolResult> => textResult("should not run"));
    const { handler, breakers, events } = pipelineOver(forward);
    const caller = new AbortController();
    caller.abort(new Error("gone"));
    const err = await handler(makeCtx(read, {}, caller.signal)).catch((e: unknown) => e);
    expect(isAggregatorError(err, "CANCELLED")).toBe(true);
    expect(events.map((e) => e["outcome"])).toEqual(["cancelled"]);

    const send = vi.fn(async (): Promise<CallToolResult> => textResult("nor this"));
    const requests = buildRequestPipeline({ breakers, limiterFor: () => newLimiter(1) }, send);
    const refused = await requests(makeCtx(read, {}, caller.signal)).catch((e: unknown) => e);
    expect(isAggregatorError(refused, "CANCELLED")).toBe(true);
    expect(forward).not.toHaveBeenCalled();
    expect(send).not.toHaveBeenCalled();
    breakers.shutdown();
  });

  it("a call cancelled while queued behind a slot never reaches the downstream either", async () => {
    const gate = deferred<CallToolResult>();
    const calls: CallContext[] = [];
    const limiter = newLimiter(1);
    const h = compose([createDeadlineLayer(), createLimitLayer(() => limiter)], async (ctx) => {
      calls.push(ctx);
      return gate.promise;
    });
    const first = h(makeCtx(read));
    const caller = new AbortController();
    const second = h(makeCtx(read, {}, caller.signal)).catch((e: unknown) => e);
    await flush();
    caller.abort();
    gate.resolve(textResult("ok"));
    await first;
    expect(isAggregatorError(await second, "CANCELLED")).toBe(true);
    expect(calls).toHaveLength(1);
  });
});

describe("the deadline layer's controllers", () => {
  it("a controller that was never aborted and has no listener left is reused; an aborted one never is", async () => {
    const signals: AbortSignal[] = [];
    const h = compose([createDeadlineLayer()], async (ctx) => {
      signals.push(ctx.signal);
      return textResult("ok");
    });
    await h(makeCtx(read));
    await h(makeCtx(read));
    expect(signals[1]).toBe(signals[0]);
    expect(signals[0]?.aborted).toBe(false);

    // A call cancelled by its caller while in flight: its (aborted) signal is not handed on.
    const caller = new AbortController();
    const gates: Deferred<CallToolResult>[] = [];
    const cancelling = compose([createDeadlineLayer()], async (ctx) => {
      signals.push(ctx.signal);
      const gate = deferred<CallToolResult>();
      gates.push(gate);
      return gate.promise;
    });
    const first = cancelling(makeCtx(read, {}, caller.signal)).catch((e: unknown) => e);
    await flush();
    caller.abort(new Error("client cancel"));
    gates[0]?.reject(new AggregatorError("CANCELLED", "the call was cancelled"));
    expect(isAggregatorError(await first, "CANCELLED")).toBe(true);
    const second = cancelling(makeCtx(read));
    await flush();
    expect(signals[3]).not.toBe(signals[2]);
    expect(signals[3]?.aborted).toBe(false);
    gates[1]?.resolve(textResult("ok"));
    await second;
  });

  it("a controller something still listens to when its call ends is not reused", async () => {
    const signals: AbortSignal[] = [];
    const stray = (): void => undefined;
    const h = compose([createDeadlineLayer()], async (ctx) => {
      signals.push(ctx.signal);
      // A listener left behind (a bug elsewhere): that signal must not be handed to another call.
      if (signals.length === 1) ctx.signal.addEventListener("abort", stray);
      return textResult("ok");
    });
    await h(makeCtx(read));
    await h(makeCtx(read));
    expect(signals[1]).not.toBe(signals[0]);
    signals[0]?.removeEventListener("abort", stray);
  });
});

describe("no listener left on a long-lived parent signal", () => {
  it("1,000 calls under one long-lived caller signal (and the shutdown signal) leave no listener behind", async () => {
    const parent = new AbortController(); // e.g. a shutdown signal shared by many calls
    const shutdown = new AbortController();
    const gates: Deferred<CallToolResult>[] = [];
    const forward = async (): Promise<CallToolResult> => {
      const gate = deferred<CallToolResult>();
      gates.push(gate);
      return gate.promise;
    };
    const limiter = newLimiter(100); // 900 of the calls wait in the queue
    const { handler, breakers } = pipelineOver(forward, limiter, shutdown.signal);
    const shutdownListeners = abortListeners(shutdown.signal);
    const routes = [read, cachedRead, write];
    const calls = Array.from({ length: 1000 }, (_, i) =>
      handler(makeCtx(routes[i % 3] ?? read, { i }, parent.signal)),
    );
    await flush(20);
    expect(limiter.queued).toBeGreaterThan(0);
    // While they run: one listener of ours on the shared signal, not one per call.
    expect(abortListeners(parent.signal)).toBe(1);
    while (gates.length > 0 || limiter.inFlight > 0) {
      for (const gate of gates.splice(0)) gate.resolve(textResult("ok"));
      await flush(10);
    }
    expect(await Promise.all(calls)).toHaveLength(1000);
    expect(abortListeners(parent.signal)).toBe(0);
    expect(abortListeners(shutdown.signal)).toBe(shutdownListeners);
    breakers.shutdown();
  });

  it("sequential calls do not collect listeners either, and a later abort reaches nothing finished", async () => {
    const parent = new AbortController();
    const { handler, breakers } = pipelineOver(async () => textResult("ok"));
    for (let i = 0; i < 1000; i++) await handler(makeCtx(read, {}, parent.signal));
    expect(abortListeners(parent.signal)).toBe(0);
    parent.abort();
    breakers.shutdown();
  });
});

describe("signals.ts", () => {
  it("onAbort shares one listener per signal, runs each waiter once, and a removed waiter never runs", () => {
    const c = new AbortController();
    const seen: string[] = [];
    const stopA = onAbort(c.signal, () => seen.push("a"));
    onAbort(c.signal, () => seen.push("b"));
    expect(abortListeners(c.signal)).toBe(1);
    stopA();
    stopA(); // twice is harmless
    expect(abortListeners(c.signal)).toBe(1);
    c.abort();
    expect(seen).toEqual(["b"]);
    expect(abortListeners(c.signal)).toBe(0);
    let late = false;
    onAbort(c.signal, () => (late = true))();
    expect(late).toBe(false);
  });

  it("follow aborts the child with the parent's reason, at once when the parent already aborted", () => {
    const parent = new AbortController();
    parent.abort("before");
    const child = new AbortController();
    follow(parent.signal, child)();
    expect(child.signal.reason).toBe("before");
    const live = new AbortController();
    const a = new AbortController();
    const b = new AbortController();
    const unfollowA = follow(live.signal, a);
    follow(live.signal, b);
    unfollowA();
    live.abort("now");
    expect([a.signal.aborted, b.signal.reason]).toEqual([false, "now"]);
    // Aborting a child leaves the parent alone.
    const p2 = new AbortController();
    const c2 = new AbortController();
    follow(p2.signal, c2);
    c2.abort();
    expect(p2.signal.aborted).toBe(false);
  });
});

describe("retry layer alone", () => {
  it("sets attempts to 1 for a call that succeeds at once", async () => {
    const h = compose(
      [
        createRetryLayer(
          () => ({ retries: 2, minTimeoutMs: 1, maxTimeoutMs: 1, factor: 1, randomize: false }),
          () => false,
        ),
      ],
      async () => textResult("ok"),
    );
    const ctx = makeCtx(read);
    await h(ctx);
    expect(ctx.attempts).toBe(1);
  });
});
