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
 */
export class WriteBatcher {
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  private scheduled = false;
  private deferred = false;

  constructor(
    private readonly stream: () => NodeJS.WritableStream | undefined,
    private readonly worthWaiting?: (batchSize: number) => boolean,
  ) {}

  write(line: string): Promise<void> {
    this.lines.push(line);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return done;
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
    const waiters = this.waiters;
    this.lines = [];
    this.waiters = [];
    const stream = this.stream();
    const release = (): void => {
      for (const w of waiters) w();
    };
    if (!stream || (stream as { destroyed?: boolean }).destroyed) return release();
    if (stream.write(data)) release();
    else stream.once("drain", release);
  }
}
