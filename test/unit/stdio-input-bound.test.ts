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

/**
 * What became of a send() by the end of this turn: refused (rejected at once), written, or still
 * queued behind a full pipe (its promise settles only on 'drain', which a deaf child never causes).
 */
async function outcome(sent: Promise<void>): Promise<"written" | "queued" | { refused: unknown }> {
  return Promise.race([
    sent.then(
      () => "written" as const,
      (refused: unknown) => ({ refused }),
    ),
    new Promise<"queued">((resolve) => setImmediate(() => resolve("queued"))),
  ]);
}

describe("stdio transport: bounded unread input (maxWriteQueueBytes)", () => {
  it("refuses requests past the bound with SERVER_BUSY (send() rejects); notifications still go", async () => {
    const t = deafChild(300_000);
    await t.start();
    try {
      let refused: unknown;
      let accepted = 0;
      for (let i = 1; i <= 100 && refused === undefined; i++) {
        // outcome() also lets the batch reach the pipe (and the pipe fill) between sends.
        const o = await outcome(t.send(request(i, 50_000)));
        if (typeof o === "object") refused = o.refused;
        else accepted++;
      }
      expect(isAggregatorError(refused, "SERVER_BUSY")).toBe(true);
      expect((refused as Error).message).toMatch(
        /^deaf is not reading its input: \d+ bytes already wait for its stdin \(maxWriteQueueBytes 300000\); tools\/call was not sent$/,
      );
      // The pipe (a socket pair: ~200 kB here) and the queue (300 kB) took some, then the bound held: far from 100 × 50 kB.
      expect(accepted).toBeGreaterThan(1);
      expect(accepted).toBeLessThan(20);
      const notification = await outcome(
        t.send({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: 1 },
        } as JSONRPCMessage),
      );
      expect(notification).toBe("queued"); // accepted, behind the full pipe: not refused
      await expect(t.send(request(999, 60_000))).rejects.toThrow(/deaf is not reading its input/);
    } finally {
      await t.close();
    }
  }, 20_000);

  it("a single request larger than the bound still goes when nothing waits", async () => {
    const t = deafChild(1_000);
    await t.start();
    try {
      await expect(t.send(request(1, 5_000))).resolves.toBeUndefined();
    } finally {
      await t.close();
    }
  }, 20_000);
});
