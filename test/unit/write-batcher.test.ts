import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { WriteBatcher } from "../../src/jsonrpc/writeBatcher.js";

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

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("WriteBatcher", () => {
  it("writes the lines of one turn in one write, in order, and resolves every writer", async () => {
    const { stream, writes } = recorder();
    const batcher = new WriteBatcher(() => stream);
    const done = Promise.all([batcher.write("a\n"), batcher.write("b\n"), batcher.write("c\n")]);
    expect(writes).toEqual([]);
    await done;
    expect(writes).toEqual(["a\nb\nc\n"]);
  });

  it("write() shares one promise per batch and a new batch gets a new one", async () => {
    const { stream, writes } = recorder();
    const batcher = new WriteBatcher(() => stream);
    const first = batcher.write("a\n");
    expect(batcher.write("b\n")).toBe(first);
    expect(batcher.write("c\n")).toBe(first);
    expect(batcher.write("d\n")).toBe(first);
    await first;
    expect(writes).toEqual(["a\nb\nc\nd\n"]);
    const second = batcher.write("e\n");
    expect(second).not.toBe(first);
    await second;
    expect(writes).toEqual(["a\nb\nc\nd\n", "e\n"]);
  });

  it("without other calls in flight a lone line is written at once, not at the end of the turn", async () => {
    const { stream, writes } = recorder();
    const asked: number[] = [];
    const batcher = new WriteBatcher(
      () => stream,
      (size) => {
        asked.push(size);
        return false;
      },
    );
    const written = batcher.write("x\n");
    expect(writes).toEqual(["x\n"]);
    await expect(written).resolves.toBeUndefined();
    await expect(batcher.write("y\n")).resolves.toBeUndefined();
    expect(writes).toEqual(["x\n", "y\n"]);
    expect(asked).toEqual([0, 0]); // asked about "anything in flight", never about a batch
    await turn();
    expect(writes).toEqual(["x\n", "y\n"]); // nothing was left queued
  });

  it("a line that finds others queued joins their batch (order kept), even when nothing is in flight", async () => {
    const { stream, writes } = recorder();
    let inFlight = true;
    const batcher = new WriteBatcher(
      () => stream,
      () => inFlight,
    );
    const first = batcher.write("1\n"); // calls in flight: queued
    inFlight = false; // the last call ended before the turn did
    const done = batcher.write("2\n");
    expect(done).toBe(first); // one batch, one promise
    expect(writes).toEqual([]); // not ahead of line 1
    await done;
    expect(writes).toEqual(["1\n2\n"]);
  });

  it("a lone write to a full pipe resolves only after 'drain'", async () => {
    const { stream, writes } = recorder({ highWaterMark: 4, paused: true });
    let drained = false;
    const batcher = new WriteBatcher(
      () => stream,
      () => false,
    );
    const written = batcher.write("more than four bytes\n").then(() => (drained = true));
    expect(writes).toEqual(["more than four bytes\n"]);
    await turn();
    expect(drained).toBe(false); // nobody read the pipe yet
    stream.resume();
    await written;
    expect(drained).toBe(true);
  });

  it("waits exactly one more turn when more is worth waiting for, collecting what arrives meanwhile", async () => {
    const { stream, writes } = recorder();
    const sizes: number[] = [];
    const batcher = new WriteBatcher(
      () => stream,
      (size) => {
        sizes.push(size);
        return true;
      },
    );
    void batcher.write("1\n");
    await turn();
    expect(writes).toEqual([]); // deferred once
    void batcher.write("2\n");
    await turn();
    expect(writes).toEqual(["1\n2\n"]); // never deferred twice
    expect(sizes).toEqual([0, 1]); // "anything in flight?" for line 1, then the flush's one question
    void batcher.write("3\n");
    await turn();
    await turn();
    expect(writes).toEqual(["1\n2\n", "3\n"]);
  });

  it("flushNow writes at once even while a deferral is pending (before the stream closes)", async () => {
    const { stream, writes } = recorder();
    const batcher = new WriteBatcher(
      () => stream,
      () => true,
    );
    void batcher.write("last\n");
    await turn();
    expect(writes).toEqual([]);
    batcher.flushNow();
    expect(writes).toEqual(["last\n"]);
    await turn();
    expect(writes).toEqual(["last\n"]);
  });

  it("a destroyed or missing stream resolves the writers without writing (nothing hangs)", async () => {
    const batcher = new WriteBatcher(() => undefined);
    await expect(batcher.write("lost\n")).resolves.toBeUndefined();
  });
});
