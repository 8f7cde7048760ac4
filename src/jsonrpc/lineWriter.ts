/**
 * Writes JSON-RPC lines to one stdio pipe, each at once (docs/adr/0026). Used by both stdio ends: the
 * front's stdout and each downstream's stdin. Node's stream does the buffering: a line the pipe cannot
 * take now waits in the stream's own queue, and queued lines go out together once it drains.
 *
 * `write` resolves when the line was handed to the pipe, or, when the stream had to buffer it, at the
 * stream's next 'drain' (one listener shared by every line that waits for it).
 */
const WRITTEN = Promise.resolve();

export class LineWriter {
  private drained: Promise<void> | undefined;

  constructor(private readonly stream: () => NodeJS.WritableStream | undefined) {}

  write(line: string): Promise<void> {
    const stream = this.stream();
    if (!stream || (stream as { destroyed?: boolean }).destroyed || stream.write(line)) return WRITTEN;
    return (this.drained ??= new Promise<void>((resolve) =>
      stream.once("drain", () => {
        this.drained = undefined;
        resolve();
      }),
    ));
  }

  /** Bytes waiting in the stream's buffer for the pipe (about characters for JSON). */
  get pendingBytes(): number {
    return (this.stream() as { writableLength?: number } | undefined)?.writableLength ?? 0;
  }
}
