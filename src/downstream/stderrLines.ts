import { CUT_MARK } from "../secrets.js";
import { LineBuffer, type OversizeLine } from "../jsonrpc/lineBuffer.js";

/** Most bytes of one stderr line held before it is cut (memory per child stays bounded). */
export const MAX_STDERR_LINE = 16 * 1024;

/**
 * Reassembles a child's stderr into whole lines before they are logged, so the log scrubber sees a
 * secret whole even when the child's write of it arrived in two reads. The splitting is the stdout
 * reader's LineBuffer; a line longer than `maxLength` is passed on cut (its first `maxLength` bytes and
 * CUT_MARK, which the scrubber knows) and the rest of it is dropped. Blank lines are skipped.
 */
export class StderrLines {
  private readonly buffer: LineBuffer;

  constructor(
    private readonly emit: (line: string) => void,
    maxLength = MAX_STDERR_LINE,
  ) {
    this.buffer = new LineBuffer(maxLength, maxLength);
  }

  /** Feeds a chunk; emits each line it completes (without the newline, trailing space trimmed). */
  push(chunk: Buffer | string): void {
    this.buffer.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, this.send, this.sendCut);
  }

  /** The stream ended: emits what is left of a last line without a newline. */
  flush(): void {
    this.buffer.end(this.send, this.sendCut);
  }

  private readonly sendCut = (line: OversizeLine): void => this.send(`${line.head}${CUT_MARK}`);

  private readonly send = (line: string): void => {
    const trimmed = line.trimEnd();
    if (trimmed.trim() !== "") this.emit(trimmed);
  };
}
