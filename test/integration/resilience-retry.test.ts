import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { waitFor } from "../helpers/aggregator.js";
import {
  expectOk,
  expectToolError,
  fault,
  running,
  startAggregator,
  type Agg,
} from "../helpers/resilience.js";

/** Quick retries and restarts so the file stays fast; the behaviour, not the timing, is asserted. */
const quick = {
  retry: { retries: 2, minTimeoutMs: 20, maxTimeoutMs: 100, randomize: false },
  restart: { maxRestarts: 10, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 200 },
};

/**
 * Retry through the real aggregator:
 *   crashy    – flaky kills the process (FLAKY_KIND=crash) twice per key; retries 2
 *   crashy1   – same, retries 1 (one retry is not enough)
 *   thrower   – flaky answers a JSON-RPC error (FLAKY_KIND=throw)
 *   iserr     – flaky answers an isError result
 *   writer    – write records, then the process dies (FAIL_WRITES=1); also rpc_error -32000
 *   idem      – like writer, with tools.overrides.write.annotations.idempotentHint: true
 *   untrusted – like crashy with trustAnnotations: false
 */
describe("resilience: retry", () => {
  let agg: Agg;

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  beforeAll(async () => {
    agg = await startAggregator({
      crashy: fault(quick, { FLAKY_KIND: "crash", FAIL_TIMES: "2" }),
      crashy1: fault(
        { ...quick, retry: { ...quick.retry, retries: 1 } },
        { FLAKY_KIND: "crash", FAIL_TIMES: "2" },
      ),
      thrower: fault(quick, { FLAKY_KIND: "throw", FAIL_TIMES: "2" }),
      iserr: fault(quick, { FLAKY_KIND: "is_error", FAIL_TIMES: "2" }),
      writer: fault(quick, { FAIL_WRITES: "1" }),
      idem: fault(
        { ...quick, tools: { overrides: { write: { annotations: { idempotentHint: true } } } } },
        { FAIL_WRITES: "1" },
      ),
      untrusted: fault({ ...quick, trustAnnotations: false }, { FLAKY_KIND: "crash", FAIL_TIMES: "1" }),
    });
  });

  afterAll(async () => {
    await agg?.close();
  });

  it("retries a read-only tool whose server dies mid-call; the restarted server answers", async () => {
    expect(expectOk(await agg.call("crashy_flaky", { key: "a" }))).toBe("ok after 2 failures");
    expect(agg.received("crashy", "flaky")).toBe(3);
    // Each failed attempt killed a process; supervision started a new one for the next attempt.
    expect(agg.state("crashy").starts).toBe(3);
    expect(new Set(agg.log("crashy").map((e) => e.pid)).size).toBe(3);
    const s = await agg.serverStatus("crashy");
    expect(s.state).toBe("ready");
    expect(s.restarts).toBe(2);
  });

  it("retries every read-only call in flight when the server dies; one crash is one breaker failure", async () => {
    const before = agg.received("crashy", "slow");
    const slows = [0, 1, 2, 3, 4].map(() => agg.call("crashy_slow", { ms: 1_500 }));
    await waitFor(() => agg.received("crashy", "slow") === before + 5, 5_000, 20);
    expectToolError(await agg.call("crashy_crash"), /connection was lost while crash was in flight/);
    // Default breaker (volumeThreshold 5): had each lost call counted, it would be open now and the
    // retries would end at once with "circuit open".
    for (const r of await Promise.all(slows)) expect(expectOk(r)).toBe("done");
    expect(agg.received("crashy", "slow")).toBe(before + 10);
    const s = await agg.serverStatus("crashy");
    expect(s.breaker).toBe("closed");
    expect(s.state).toBe("ready");
  });

  it("makes exactly 1 + retry.retries attempts, then answers a clear isError", async () => {
    const t = expectToolError(await agg.call("crashy1_flaky", { key: "b" }), /crashy1/, /flaky/);
    expect(t).toMatch(/connection was lost/);
    expect(agg.received("crashy1", "flaky")).toBe(2);
    expect(agg.state("crashy1").flaky["b"]).toBe(2);
  });

  it("does not retry a JSON-RPC error; it is forwarded with its code and message", async () => {
    const r = await agg.call("thrower_flaky", { key: "c" });
    expect(r).toBeInstanceOf(McpError);
    expect((r as McpError).code).toBe(-32603);
    expect((r as McpError).message).toBe("MCP error -32603: flaky failure 1/2 for key c");
    expect(agg.received("thrower", "flaky")).toBe(1);
  });

  it("forwards a -32000 JSON-RPC error from a live server as an error, not as a lost connection", async () => {
    const r = await agg.call("thrower_rpc_error", { code: -32000 });
    expect(r).toBeInstanceOf(McpError);
    expect((r as McpError).code).toBe(-32000);
    expect((r as McpError).message).toBe("MCP error -32000: rpc error on purpose");
    expect(agg.received("thrower", "rpc_error")).toBe(1);
    expect((await agg.serverStatus("thrower")).restarts).toBe(0);
  });

  it("does not retry an isError result", async () => {
    expectToolError(await agg.call("iserr_flaky", { key: "d" }), /flaky failure 1\/2 for key d/);
    expect(agg.received("iserr", "flaky")).toBe(1);
  });

  it("sends a non-idempotent write exactly once and says it was not retried", async () => {
    const t = expectToolError(await agg.call("writer_write", { value: "w1" }), /writer/, /write/);
    expect(t).toMatch(/not retried/);
    expect(agg.received("writer", "write")).toBe(1);
    expect(agg.state("writer").writes).toEqual(["w1"]);
    // The server comes back and serves the next call.
    expect(expectOk(await agg.call("writer_echo", { message: "after" }))).toBe("after");
    expect(agg.state("writer").writes).toEqual(["w1"]);
  });

  it("retries a write the config declares idempotent", async () => {
    const t = expectToolError(await agg.call("idem_write", { value: "w2" }), /idem/, /write/);
    expect(t).not.toMatch(/not retried/);
    expect(agg.received("idem", "write")).toBe(3);
    expect(agg.state("idem").writes).toEqual(["w2", "w2", "w2"]);
  });

  // Regression: the annotations a client sees (effectiveAnnotations) keep the server's own claims, but
  // retries, caching, write serialization and the readOnly filter act on actedAnnotations, which drops
  // them when trustAnnotations is false (src/catalog/policy.ts): an untrusted readOnlyHint is not enough.
  it("does not retry readOnly tools of a server whose annotations are not trusted", async () => {
    const t = expectToolError(await agg.call("untrusted_flaky", { key: "e" }), /untrusted/, /not retried/);
    expect(t).toMatch(/connection was lost/);
    expect(agg.received("untrusted", "flaky")).toBe(1);
    // Once the server is back, the same key succeeds (FAIL_TIMES 1): it was only ever sent once before.
    expect(expectOk(await agg.call("untrusted_flaky", { key: "e" }))).toBe("ok after 1 failures");
  });

  it("keeps every server usable afterwards", async () => {
    for (const s of ["crashy", "crashy1", "thrower", "iserr", "writer", "idem", "untrusted"]) {
      expect(expectOk(await agg.call(`${s}_echo`, { message: s }))).toBe(s);
    }
  });
});
