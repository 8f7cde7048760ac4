import { describe, expect, it } from "vitest";
import { isAggregatorError } from "../../../src/errors.js";
import { compose } from "../../../src/pipeline/compose.js";
import { createCallContext } from "../../../src/pipeline/context.js";
import { createRateLimitLayer, MemoryRateLimits } from "../../../src/pipeline/middleware/rateLimit.js";
import { makeRoute, silentLogger, textResult } from "../../helpers/pipeline.js";

const route = makeRoute({ server: "github", tool: "search", readOnly: true });

describe("rate limits (in-memory buckets)", () => {
  it("takes a token from the client's and the server's bucket, or from neither", async () => {
    let now = 0;
    const store = new MemoryRateLimits(
      { perClient: { requestsPerSecond: 1, burst: 2 }, perServer: { requestsPerSecond: 1, burst: 3 } },
      () => now,
    );
    expect(await store.take("alice", "github")).toBeUndefined();
    expect(await store.take("alice", "github")).toBeUndefined();
    expect(await store.take("alice", "github")).toEqual({ limit: "client", retryAfterMs: 1000 });
    expect(await store.take("bob", "github")).toBeUndefined();
    // The server is out; bob's own bucket is not charged for the refused call.
    expect(await store.take("bob", "github")).toEqual({ limit: "server", retryAfterMs: 1000 });
    now += 1_000;
    expect(await store.take("bob", "github")).toBeUndefined();
    expect(await store.take("bob", "github")).toEqual({ limit: "server", retryAfterMs: 1000 });
    now += 500;
    expect(await store.take("carol", "github")).toEqual({ limit: "server", retryAfterMs: 500 });
  });

  it("fails a call over the limit with RATE_LIMITED naming it, without calling the server", async () => {
    const store = new MemoryRateLimits({ perClient: { requestsPerSecond: 0.5, burst: 1 } }, () => 0);
    let calls = 0;
    const h = compose([createRateLimitLayer(store)], () => Promise.resolve(textResult(`ok ${++calls}`)));
    const ctx = () =>
      createCallContext({
        requestId: "r",
        route,
        args: {},
        signal: new AbortController().signal,
        log: silentLogger,
        client: "alice",
      });
    expect(await h(ctx())).toEqual(textResult("ok 1"));
    const e = await h(ctx()).catch((x: unknown) => x);
    expect(isAggregatorError(e, "RATE_LIMITED")).toBe(true);
    expect((e as Error).message).toBe(
      "rate limit of client alice reached (0.5 calls/s, burst 1); retry in 2 s",
    );
    expect(calls).toBe(1);
  });
});
