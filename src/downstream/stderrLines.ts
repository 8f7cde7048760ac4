import { CUT_MARK } from "../secrets.js";

/** Most characters of one stderr line held before it is cut (memory per child stays bounded). */
export const MAX_STDERR_LINE = 16 * 1024;

/**
 * Reassembles a child's stderr into whole lines before they are logged, so the log scrubber sees a
 * secret whole even when the child's write of it arrived in two reads. A line longer than `maxLength`
 * is passed on cut (CUT_MARK appended, which the scrubber knows) and the rest of it is dropped.
 */
export class StderrLines {
  private partial = "";
  private cut = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLength = MAX_STDERR_LINE,
  ) {}

  /** Feeds decoded text; emits each line it completes (without the newline, trailing space trimmed). */
  push(text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      this.append(text.slice(start, nl));
      if (!this.cut) this.send(this.partial);
      this.partial = "";
      this.cut = false;
      start = nl + 1;
    }
    this.append(text.slice(start));
  }

  /** The stream ended: emits what is left of a last line without a newline. */
  flush(): void {
    if (!this.cut) this.send(this.partial);
    this.partial = "";
    this.cut = false;
  }

  private append(piece: string): void {
    if (this.cut || piece === "") return;
    const room = this.maxLength - this.partial.length;
    if (piece.length <= room) {
      this.partial += piece;
      return;
    }
    this.send(`${this.partial}${piece.slice(0, room)}${CUT_MARK}`);
    this.partial = "";
    this.cut = true;
  }

  private send(line: string): void {
    const trimmed = line.trimEnd();
    if (trimmed.trim() !== "") this.emit(trimmed);
  }
}
