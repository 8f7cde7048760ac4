import { getEventListeners } from "node:events";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineWriter } from "../../src/jsonrpc/lineWriter.js";

/** A stream that records each write() call separately; `paused` leaves it unread (it fills up). */
function recorder(options: { highWaterMark?: number; paused?: boolean } = {}) {
  const writes: string[] = [];
  const stream = new PassThrough({ highWaterMark: options.highWaterMark });
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    writes.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  if (!options.paused) stream.resume();
  return { stream, writes };
}

describe("LineWriter", () => {
  it("hands each line to the stream at once, in order, and resolves its writer", async () => {
    const { stream, writes } = recorder();
    const writer = new LineWriter(() => stream);
    const first = writer.write("a\n");
    expect(writes).toEqual(["a\n"]); // not a turn later
    void writer.write("b\n");
    void writer.write("c\n");
    expect(writes).toEqual(["a\n", "b\n", "c\n"]);
    await expect(first).resolves.toBeUndefined();
  });

  it("a line the pipe cannot take resolves at 'drain', and every waiting line shares one listener", async () => {
    const { stream, writes } = recorder({ highWaterMark: 4, paused: true });
    const writer = new LineWriter(() => stream);
    let drained = 0;
    const waits = Array.from({ length: 20 }, (_, i) => writer.write(`line ${i} is longer than four bytes\n`));
    for (const w of waits) void w.then(() => drained++);
    expect(writes).toHaveLength(20); // all handed to the stream, which buffers them
    expect(getEventListeners(stream, "drain")).toHaveLength(1); // not 20 (no MaxListeners warning)
    expect(writer.pendingBytes).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(0); // nobody read the pipe yet
    stream.resume();
    await Promise.all(waits);
    expect(drained).toBe(20);
    expect(writer.pendingBytes).toBe(0);
    // After the drain a new line gets its own promise again.
    await expect(writer.write("x\n")).resolves.toBeUndefined();
  });

  it("pendingBytes is what waits in the stream's buffer for the pipe", () => {
    // A pipe that has not finished the first write yet: Node's stream buffers what follows.
    const held: (() => void)[] = [];
    const stream = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, callback) {
        held.push(() => callback());
      },
    });
    const writer = new LineWriter(() => stream);
    expect(writer.pendingBytes).toBe(0);
    void writer.write("0123456789\n");
    void writer.write("abc\n");
    expect(writer.pendingBytes).toBe(15);
    held.shift()?.();
    expect(writer.pendingBytes).toBe(4);
  });

  it("a destroyed or missing stream resolves the writer without writing (nothing hangs)", async () => {
    await expect(new LineWriter(() => undefined).write("lost\n")).resolves.toBeUndefined();
    const { stream, writes } = recorder();
    stream.destroy();
    await expect(new LineWriter(() => stream).write("lost\n")).resolves.toBeUndefined();
    expect(writes).toEqual([]);
  });
});
