import { describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { ResultCache, createCacheLayer, stableStringify } from "../../../src/pipeline/middleware/cache.js";
import type { CallContext } from "../../../src/pipeline/types.js";
import { deferred, flush, makeCtx, makeRoute, scripted, textResult } from "../../helpers/pipeline.js";

const search = makeRoute({
  server: "github",
  tool: "search_repositories",
  readOnly: true,
  cacheTtlMs: 60_000,
});
const create = makeRoute({ server: "github", tool: "create_issue", readOnly: false });

function counting(make: (n: number) => CallToolResult = (n) => textResult(`r${n}`)) {
  const fn = async (_ctx: CallContext) => make(++fn.calls);
  fn.calls = 0;
  return fn;
}

describe("cache layer", () => {
  it("serves a second identical read from the cache; argument key order does not matter", async () => {
    const cache = new ResultCache();
    const next = counting();
    const h = compose([createCacheLayer(cache)], next);
    const a = makeCtx(search, { q: "mcp", page: 1 });
    const b = makeCtx(search, { page: 1, q: "mcp" });
    expect(await h(a)).toEqual(textResult("r1"));
    expect(await h(b)).toEqual(textResult("r1"));
    expect(next.calls).toBe(1);
    expect([a.cacheOutcome, b.cacheOutcome]).toEqual(["miss", "hit"]);
    expect(await h(makeCtx(search, { q: "other" }))).toEqual(textResult("r2"));
    expect(cache.stats).toMatchObject({ hits: 1, misses: 2, coalesced: 0, size: 2 });
  });

  it("coalesces 10 concurrent identical calls into one downstream call", async () => {
    const cache = new ResultCache();
    const gate = deferred<CallToolResult>();
    let calls = 0;
    const h = compose([createCacheLayer(cache)], () => {
      calls++;
      return gate.promise;
    });
    const ctxs = Array.from({ length: 10 }, () => makeCtx(search, { q: "x" }));
    const results = ctxs.map((c) => h(c));
    gate.resolve(textResult("shared"));
    expect(await Promise.all(results)).toEqual(Array.from({ length: 10 }, () => textResult("shared")));
    expect(calls).toBe(1);
    expect(cache.stats).toMatchObject({ misses: 1, coalesced: 9 });
    expect(ctxs.filter((c) => c.cacheOutcome === "coalesced")).toHaveLength(9);
  });

  it("one waiter cancelling does not cancel the shared call for the others; the last one leaving aborts it", async () => {
    const cache = new ResultCache();
    const gate = deferred<CallToolResult>();
    let downstreamSignal: AbortSignal | undefined;
    const h = compose([createCacheLayer(cache)], (ctx) => {
      downstreamSignal = ctx.signal;
      return gate.promise;
    });
    const a = new AbortController();
    const b = new AbortController();
    const first = h(makeCtx(search, { q: "x" }, a.signal)).catch((e: unknown) => e);
    const second = h(makeCtx(search, { q: "x" }, b.signal));
    a.abort();
    expect(isAggregatorError(await first, "CANCELLED")).toBe(true);
    expect(downstreamSignal?.aborted).toBe(false);
    gate.resolve(textResult("ok"));
    expect(await second).toEqual(textResult("ok"));

    const gate2 = deferred<CallToolResult>();
    const h2 = compose([createCacheLayer(cache)], (ctx) => {
      downstreamSignal = ctx.signal;
      return gate2.promise;
    });
    const c = new AbortController();
    const only = h2(makeCtx(search, { q: "y" }, c.signal)).catch((e: unknown) => e);
    c.abort();
    expect(isAggregatorError(await only, "CANCELLED")).toBe(true);
    expect(downstreamSignal?.aborted).toBe(true);
    gate2.reject(new Error("aborted"));
    await flush();
    expect(cache.stats.size).toBe(1); // only q=x
  });

  it("a write to the server invalidates its entries, before and after it runs", async () => {
    const cache = new ResultCache();
    const next = counting();
    const h = compose([createCacheLayer(cache)], next);
    await h(makeCtx(search, { q: "x" }));
    await h(makeCtx(makeRoute({ server: "memory", tool: "read_graph", readOnly: true, cacheTtlMs: 1000 })));
    expect(cache.stats.size).toBe(2);

    // a read that starts while the write runs is not kept
    const writeGate = deferred<CallToolResult>();
    const readGate = deferred<CallToolResult>();
    const h2 = compose([createCacheLayer(cache)], (ctx) =>
      ctx.route === create ? writeGate.promise : readGate.promise,
    );
    const writing = h2(makeCtx(create, { title: "t" }));
    expect(cache.stats.size).toBe(1); // github's entry dropped at write start, memory's kept
    const reading = h2(makeCtx(search, { q: "x" }));
    readGate.resolve(textResult("mid-write"));
    await reading;
    writeGate.resolve(textResult("created"));
    await writing;
    expect(cache.stats.size).toBe(1);
    expect(await h(makeCtx(search, { q: "x" }))).toEqual(textResult("r3"));
  });

  it("never caches isError results", async () => {
    const cache = new ResultCache();
    const next = scripted([textResult("rate limited", true), textResult("ok")]);
    const h = compose([createCacheLayer(cache)], next);
    expect((await h(makeCtx(search, { q: "x" }))).isError).toBe(true);
    expect(await h(makeCtx(search, { q: "x" }))).toEqual(textResult("ok"));
    expect(next.calls).toBe(2);
  });

  it("does not cache tools without a TTL or failed calls", async () => {
    const cache = new ResultCache();
    const next = counting();
    const h = compose([createCacheLayer(cache)], next);
    const plain = makeRoute({ server: "github", tool: "get_me", readOnly: true });
    await h(makeCtx(plain));
    await h(makeCtx(plain));
    expect(next.calls).toBe(2);
    const failing = compose([createCacheLayer(cache)], () => Promise.reject(new Error("down")));
    await expect(failing(makeCtx(search, { q: "z" }))).rejects.toThrow("down");
    expect(cache.stats.size).toBe(0);
  });

  it("expires entries after the route's TTL", async () => {
    let t = 1000; // lru-cache reads a start time of 0 as "no TTL"
    const cache = new ResultCache({ now: () => t });
    const next = counting();
    const h = compose([createCacheLayer(cache)], next);
    await h(makeCtx(search, { q: "x" }));
    t = 60_999;
    await h(makeCtx(search, { q: "x" }));
    expect(next.calls).toBe(1);
    t = 61_001;
    await h(makeCtx(search, { q: "x" }));
    expect(next.calls).toBe(2);
  });

  it("is bounded by bytes: old entries are evicted, oversized results are not stored", async () => {
    const cache = new ResultCache({ maxEntries: 100, maxBytes: 1000 });
    const big = "x".repeat(300);
    const h = compose([createCacheLayer(cache)], async (ctx) =>
      textResult(`${ctx.args["i"] as number}${big}`),
    );
    for (let i = 0; i < 10; i++) await h(makeCtx(search, { i }));
    expect(cache.stats.bytes).toBeLessThanOrEqual(1000);
    expect(cache.stats.size).toBe(2);
    const huge = compose([createCacheLayer(cache)], async () => textResult("y".repeat(5000)));
    await huge(makeCtx(search, { i: "huge" }));
    expect(cache.stats.size).toBe(2);
    expect(cache.stats.bytes).toBeLessThanOrEqual(1000);
  });

  it("stableStringify sorts keys at every level and keeps array order", () => {
    expect(stableStringify({ b: [2, { d: 1, c: 2 }], a: null, u: undefined })).toBe(
      '{"a":null,"b":[2,{"c":2,"d":1}]}',
    );
  });
});
