import { describe, expect, it } from "vitest";
import { AggregatorError, isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { createCallContext } from "../../../src/pipeline/context.js";
import {
  createIdempotencyLayer,
  IDEMPOTENCY_META_KEY,
  neverRan,
} from "../../../src/pipeline/middleware/idempotency.js";
import { MemoryIdempotencyStore } from "../../../src/pipeline/middleware/idempotencyMemory.js";
import type { CallContext, Handler } from "../../../src/pipeline/types.js";
import { deferred, makeRoute, silentLogger, textResult, timedOut } from "../../helpers/pipeline.js";

const write = makeRoute({ server: "memory", tool: "create_entities" });

function ctxOf(
  key: unknown,
  args: Record<string, unknown> = {},
  principal?: string,
  signal?: AbortSignal,
): CallContext {
  return createCallContext({
    requestId: `r${Math.random()}`,
    route: write,
    args,
    signal: signal ?? new AbortController().signal,
    log: silentLogger,
    meta: key === undefined ? undefined : { [IDEMPOTENCY_META_KEY]: key },
    ...(principal ? { principal } : {}),
  });
}

function setup(options: { waitMs?: number; now?: () => number; windowMs?: number } = {}) {
  const store = new MemoryIdempotencyStore({
    windowMs: options.windowMs ?? 60_000,
    runningTtlMs: 60_000,
    ...(options.now ? { now: options.now } : {}),
  });
  let runs = 0;
  let behaviour: (n: number) => Promise<ReturnType<typeof textResult>> = (n) =>
    Promise.resolve(textResult(`run ${n}`));
  const last: Handler = () => behaviour(++runs);
  const h = compose(
    [createIdempotencyLayer(store, { waitMs: options.waitMs ?? 60_000, replicaId: "t" })],
    last,
  );
  return {
    h,
    runs: () => runs,
    set: (b: typeof behaviour) => (behaviour = b),
  };
}

const failure = async (p: Promise<unknown>): Promise<AggregatorError> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isAggregatorError(e)) throw new Error(`expected an AggregatorError, got ${String(e)}`);
  return e;
};

describe("idempotency layer (in-memory store)", () => {
  it("passes calls without a key straight through", async () => {
    const t = setup();
    await t.h(ctxOf(undefined));
    await t.h(ctxOf(undefined));
    expect(t.runs()).toBe(2);
  });

  it("runs a keyed call once; a repeat gets the recorded result", async () => {
    const t = setup();
    expect(await t.h(ctxOf("k"))).toEqual(textResult("run 1"));
    expect(await t.h(ctxOf("k"))).toEqual(textResult("run 1"));
    expect(t.runs()).toBe(1);
  });

  it("runs the key again once its window has passed", async () => {
    let now = 1_000;
    const t = setup({ now: () => now, windowMs: 500 });
    await t.h(ctxOf("k"));
    now += 501;
    expect(await t.h(ctxOf("k"))).toEqual(textResult("run 2"));
  });

  it("keeps principals apart and refuses a key reused for other arguments", async () => {
    const t = setup();
    await t.h(ctxOf("k", { a: 1 }, "alice"));
    expect(await t.h(ctxOf("k", { a: 1 }, "bob"))).toEqual(textResult("run 2"));
    const e = await failure(t.h(ctxOf("k", { a: 2 }, "alice")));
    expect(e.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(e.message).toMatch(/already used for a different call/);
    expect(t.runs()).toBe(2);
  });

  it("frees the key after a failure that never reached the server: a repeat runs", async () => {
    const t = setup();
    t.set(() => Promise.reject(new AggregatorError("SERVER_BUSY", "memory is busy")));
    expect((await failure(t.h(ctxOf("k")))).code).toBe("SERVER_BUSY");
    t.set((n) => Promise.resolve(textResult(`run ${n}`)));
    expect(await t.h(ctxOf("k"))).toEqual(textResult("run 2"));
    expect(neverRan(new AggregatorError("DOWNSTREAM_TIMEOUT", "x"))).toBe(false);
  });

  it("records a failure that may have taken effect: a repeat is refused naming it", async () => {
    const t = setup();
    t.set(() => Promise.reject(timedOut("memory", "create_entities")));
    expect((await failure(t.h(ctxOf("k")))).code).toBe("DOWNSTREAM_TIMEOUT");
    const e = await failure(t.h(ctxOf("k")));
    expect(e.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(e.message).toMatch(
      /first call with this idempotency key failed \(memory: create_entities timed out.*\); it may have taken effect/,
    );
    expect(t.runs()).toBe(1);
  });

  it("a concurrent repeat waits for the first call's result", async () => {
    const t = setup();
    const gate = deferred<void>();
    t.set(async (n) => {
      await gate.promise;
      return textResult(`run ${n}`);
    });
    const first = t.h(ctxOf("k"));
    const repeat = t.h(ctxOf("k"));
    gate.resolve();
    expect(await Promise.all([first, repeat])).toEqual([textResult("run 1"), textResult("run 1")]);
    expect(t.runs()).toBe(1);
  });

  it("a repeat that waited waitMs gets 'still running'; a cancelled one CANCELLED; neither runs", async () => {
    const t = setup({ waitMs: 20 });
    const gate = deferred<void>();
    t.set(async (n) => {
      await gate.promise;
      return textResult(`run ${n}`);
    });
    const first = t.h(ctxOf("k"));
    const late = await failure(t.h(ctxOf("k")));
    expect(late.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(late.message).toMatch(/still running \(waited 20 ms\); try again later/);
    const cancel = new AbortController();
    const waiting = t.h(ctxOf("k", {}, undefined, cancel.signal));
    cancel.abort(new Error("client cancelled"));
    expect((await failure(waiting)).code).toBe("CANCELLED");
    gate.resolve();
    expect(await first).toEqual(textResult("run 1"));
    expect(t.runs()).toBe(1);
  });

  it("refuses a malformed key, running nothing", async () => {
    const t = setup();
    for (const bad of [42, "", "x".repeat(257), { k: 1 }]) {
      const e = await failure(t.h(ctxOf(bad)));
      expect(e.code).toBe("INVALID_ARGUMENTS");
      expect(e.message).toMatch(/must be a string of 1 to 256 characters/);
    }
    expect(t.runs()).toBe(0);
  });
});
