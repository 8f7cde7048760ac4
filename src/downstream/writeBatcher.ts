/**
 * Coalesces the JSON-RPC lines written to one pipe during an event-loop turn into a single write.
 * A pipe write is a syscall, and it wakes the reader on the other side: with many calls in flight,
 * one write per turn instead of one per message is most of a stdio proxy's throughput. The batch is
 * flushed in the same turn's check phase (setImmediate), so a lone message waits microseconds.
 *
 * `worthWaiting(batchSize)` (optional) says whether more messages for this pipe are likely to follow
 * at once (other calls in flight). When it does, the flush waits one more turn, once: whatever the
 * next poll phase reads joins the batch. A lone call never waits (nothing else is in flight), so
 * single-call latency is unchanged; under load there are fewer writes and fewer wake-ups of the reader.
 *
 * Nothing is allocated per line beyond the line itself: `post` queues without a promise (the hot path:
 * nobody waits for a request or an answer to reach the pipe), and `write` returns one promise shared by
 * the whole batch, made only when somebody asks for it.
 */
export class WriteBatcher {
  private lines: string[] = [];
  private batchDone: Promise<void> | undefined;
  private releaseBatch: (() => void) | undefined;
  private scheduled = false;
  private deferred = false;

  constructor(
    private readonly stream: () => NodeJS.WritableStream | undefined,
    private readonly worthWaiting?: (batchSize: number) => boolean,
  ) {}

  /** Queues a line for this turn's write. */
  post(line: string): void {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Queues a line; resolves once the batch holding it was handed to the stream (and drained, if it had to). */
  write(line: string): Promise<void> {
    this.post(line);
    return (this.batchDone ??= new Promise<void>((resolve) => (this.releaseBatch = resolve)));
  }

  /** Writes what is pending now (before closing the stream). */
  flushNow(): void {
    if (this.lines.length > 0) this.writeOut();
  }

  private readonly flush = (): void => {
    if (!this.deferred && this.lines.length > 0 && this.worthWaiting?.(this.lines.length) === true) {
      this.deferred = true;
      setImmediate(this.flush);
      return;
    }
    this.writeOut();
  };

  private writeOut(): void {
    this.deferred = false;
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const data = this.lines.length === 1 ? (this.lines[0] ?? "") : this.lines.join("");
    const release = this.releaseBatch;
    this.lines = [];
    this.batchDone = undefined;
    this.releaseBatch = undefined;
    const stream = this.stream();
    if (!stream || (stream as { destroyed?: boolean }).destroyed) return release?.();
    if (stream.write(data)) release?.();
    else if (release) stream.once("drain", release);
  }
}
