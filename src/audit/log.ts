import { stat } from "node:fs/promises";
import path from "node:path";
import { createStream, type RotatingFileStream } from "rotating-file-stream";
import { AggregatorError } from "../errorCore.js";
import type { Logger } from "../logger.js";
import type { CallEvent } from "../pipeline/middleware/observe.js";
import { auditLine } from "./line.js";

export interface AuditOptions {
  /** The file (absolute, or relative to `baseDir`). */
  readonly file: string;
  /** Size at which the file is rotated (file → file.1 → … → file.<keep>). */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
  /** Write each call's arguments, result and error text too. */
  readonly includePayloads: boolean;
  /** Where a relative `file` is resolved: the config file's folder. */
  readonly baseDir: string;
  readonly log: Logger;
  /** Removes known secrets from error texts and payloads. */
  readonly scrub: (text: string) => string;
}

/**
 * Lines waiting to be written past this many bytes are dropped (counted, logged, and reported in the
 * file by a `{"dropped": n}` line once writing catches up): a stalled disk never grows the heap without
 * bound, and never slows a call.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * The audit log: one JSON line per finished tools/call, appended without blocking the call (the
 * stream buffers and writes asynchronously), rotated by size, flushed by close().
 */
export class AuditLog {
  private dropped = 0;
  private failed: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly stream: RotatingFileStream,
    readonly file: string,
    private readonly options: AuditOptions,
  ) {
    stream.on("error", (error: Error) => {
      this.failed ??= error;
      options.log.error({ err: error.message, file }, "audit log: writing failed; audit lines are dropped");
    });
  }

  /**
   * Opens (appends to) the file, creating its folder. Rejects with CONFIG_INVALID naming `audit.file`
   * when it cannot be written: the aggregator does not start without the audit log it was asked for.
   */
  static async open(options: AuditOptions): Promise<AuditLog> {
    const file = path.resolve(options.baseDir, options.file);
    const bad = (why: string, cause?: unknown): AggregatorError =>
      new AggregatorError("CONFIG_INVALID", `audit.file: cannot write the audit log ${file}: ${why}`, {
        cause,
      });
    const existing = await stat(file).catch(() => undefined);
    if (existing?.isDirectory()) throw bad("it is a directory");
    const base = path.basename(file);
    // Classical rotation calls the generator with null for the file and 1..keep for the rotated ones.
    const name = (n: number | Date): string => (typeof n === "number" && n > 0 ? `${base}.${n}` : base);
    const stream = createStream(name, {
      path: `${path.dirname(file)}${path.sep}`,
      size: `${options.maxBytes}B`,
      rotate: options.keep,
      // Lines are strings: no encoding surprises, and mode 0600 (they name principals and tools).
      mode: 0o600,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        stream.off("open", onOpen);
        reject(bad(error.code ?? error.message, error));
      };
      const onOpen = (): void => {
        stream.off("error", onError);
        resolve();
      };
      stream.once("error", onError);
      stream.once("open", onOpen);
    });
    return new AuditLog(stream, file, options);
  }

  /** Appends the call's line; never throws, never waits. */
  record(event: CallEvent): void {
    if (this.closing || this.failed) {
      this.dropped++;
      return;
    }
    if (this.stream.writableLength > MAX_PENDING_BYTES) {
      if (this.dropped++ === 0)
        this.options.log.warn({ file: this.file }, "audit log: the disk is not keeping up; dropping lines");
      return;
    }
    if (this.dropped > 0) {
      this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), dropped: this.dropped })}\n`);
      this.options.log.warn({ file: this.file, dropped: this.dropped }, "audit log: lines were dropped");
      this.dropped = 0;
    }
    const line = auditLine(event, this.options.includePayloads, this.options.scrub);
    this.stream.write(`${JSON.stringify(line)}\n`);
  }

  /** Lines dropped since the last one written (a full buffer, or a failed file). */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Writes everything still buffered, then closes the file. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= new Promise<void>((resolve) => {
      if (this.failed || this.stream.destroyed) return resolve();
      this.stream.once("error", () => resolve());
      this.stream.end(() => resolve());
    }));
  }
}
