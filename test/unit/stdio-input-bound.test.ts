import { describe, expect, it } from "vitest";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../../src/errors.js";
import { ProcessGroupStdioTransport } from "../../src/downstream/stdio.js";

/** A real child that never reads its stdin: what we write piles up in the pipe and in our queue. */
function deafChild(maxWriteQueueBytes: number): ProcessGroupStdioTransport {
  return new ProcessGroupStdioTransport({
    command: process.execPath,
    args: ["-e", "setInterval(() => {}, 1000)"],
    env: { PATH: process.env["PATH"] ?? "" },
    name: "deaf",
    maxWriteQueueBytes,
    killGraceMs: 200,
  });
}

const request = (id: number, bytes: number): JSONRPCMessage =>
  ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: { message: "x".repeat(bytes) } },
  }) as JSONRPCMessage;

describe("stdio transport: bounded unread input (maxWriteQueueBytes)", () => {
  it("refuses requests past the bound with SERVER_BUSY; notifications still go; send() rejects alike", async () => {
    const t = deafChild(300_000);
    await t.start();
    try {
      let refused: unknown;
      let accepted = 0;
      for (let i = 1; i <= 100 && refused === undefined; i++) {
        try {
          t.post(request(i, 50_000));
          accepted++;
        } catch (error) {
          refused = error;
        }
        // Let the batch reach the pipe (and the pipe fill) between posts.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      expect(isAggregatorError(refused, "SERVER_BUSY")).toBe(true);
      expect((refused as Error).message).toMatch(
        /^deaf is not reading its input: \d+ bytes already wait for its stdin \(maxWriteQueueBytes 300000\); tools\/call was not sent$/,
      );
      // The pipe (a socket pair: ~200 kB here) and the queue (300 kB) took some, then the bound held: far from 100 × 50 kB.
      expect(accepted).toBeGreaterThan(1);
      expect(accepted).toBeLessThan(20);
      expect(() =>
        t.post({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: 1 },
        } as JSONRPCMessage),
      ).not.toThrow();
      await expect(t.send(request(999, 60_000))).rejects.toThrow(/deaf is not reading its input/);
    } finally {
      await t.close();
    }
  }, 20_000);

  it("a single request larger than the bound still goes when nothing waits", async () => {
    const t = deafChild(1_000);
    await t.start();
    try {
      expect(() => t.post(request(1, 5_000))).not.toThrow();
    } finally {
      await t.close();
    }
  }, 20_000);
});
