import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { expectOk, fault, startAggregator, text, type Agg } from "../helpers/resilience.js";

/**
 * A stdio server that stops reading its stdin (docs/resilience.md, "Write-queue bound"): requests written
 * to it wait in the pipe and in our write queue; past maxWriteQueueBytes a new call fails at once with
 * SERVER_BUSY naming the server's full input, instead of the aggregator holding hundreds of megabytes.
 */
describe("resilience: a stdio server that stops reading its input", () => {
  let agg: Agg;
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    agg = await startAggregator({
      stuck: fault(
        { maxWriteQueueBytes: 1_048_576, timeoutMs: 120_000, totalTimeoutMs: 120_000 },
        {},
        "stop_reading",
      ),
      other: fault(),
    });
  }, 30_000);

  afterAll(async () => {
    for (const ac of controllers) ac.abort();
    await agg?.close();
  });

  it("refuses new calls once 1 MiB waits for its stdin; the connection and other servers are fine", async () => {
    const message = "x".repeat(200_000);
    const send = (): Promise<CallToolResult | McpError> => {
      const ac = new AbortController();
      controllers.push(ac);
      return agg.call("stuck_echo", { message }, { signal: ac.signal }).catch((e: unknown) => e as McpError);
    };
    // 200 kB each: the pipe takes ~64 kB, the queue 1 MiB; the ones after that are refused at once.
    const pending = Array.from({ length: 12 }, send);
    // The first answer is a refusal (the accepted calls are never answered: the server reads nothing).
    const refused = await Promise.race(pending);
    expect(refused).not.toBeInstanceOf(McpError);
    expect((refused as CallToolResult).isError).toBe(true);
    expect(text(refused)).toMatch(
      /^stuck_echo: stuck is not reading its input: \d+ bytes already wait for its stdin \(maxWriteQueueBytes 1048576\); tools\/call was not sent$/,
    );
    const more = await send();
    expect(text(more as CallToolResult)).toMatch(/stuck is not reading its input/);
    // Not a transport failure: the server stays ready, its breaker closed; other servers answer.
    const s = await agg.serverStatus("stuck");
    expect(s.state).toBe("ready");
    expect(s.breaker).toBe("closed");
    expect(expectOk(await agg.call("other_echo", { message: "fine" }))).toBe("fine");
  }, 60_000);
});
