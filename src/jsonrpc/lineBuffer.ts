import type { JSONRPCMessage } from "@modelcontextprotocol/server";

/** What is kept of a line over the limit: its first and last bytes (enough to read its id) and its size. */
export interface OversizeLine {
  readonly head: string;
  readonly tail: string;
  readonly bytes: number;
}

/** Bytes kept of each end of a line over the limit, by default. */
const EDGE = 512;

/**
 * Splits a byte stream into newline-delimited JSON-RPC messages.
 *
 * Unlike the SDK's ReadBuffer it does not re-parse each message with zod (the Protocol layer checks what
 * it needs) and does not copy the whole buffer on every chunk, so large results cost O(n). A line longer
 * than maxLineBytes is not buffered: its bytes are dropped as they arrive (only its first and last
 * EDGE bytes are kept) and onOversize is told once its newline arrives; the stream goes on.
 */
export class LineBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Inside a line over the limit: bytes dropped so far, and its edges. */
  private dropping = false;
  private dropped = 0;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxLineBytes: number,
    /** Bytes kept of each end of a line over the limit (its head and tail in OversizeLine). */
    private readonly edge = EDGE,
  ) {}

  /** Feeds a chunk; calls onLine for each complete line and onOversize for each line over the limit. */
  push(chunk: Buffer, onLine: (line: string) => void, onOversize: (line: OversizeLine) => void): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
      if (!this.dropping && this.size + piece.length > this.maxLineBytes) this.startDropping();
      if (this.dropping) {
        this.drop(piece);
        onOversize(this.endDropping());
        continue;
      }
      let line: string;
      if (this.chunks.length === 0) {
        line = piece.toString("utf8");
      } else {
        this.chunks.push(piece);
        line = Buffer.concat(this.chunks, this.size + piece.length).toString("utf8");
        this.chunks = [];
        this.size = 0;
      }
      if (line.length > 0) onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (!this.dropping && this.size + rest.length > this.maxLineBytes) this.startDropping();
      if (this.dropping) this.drop(rest);
      else {
        this.size += rest.length;
        this.chunks.push(rest);
      }
    }
  }

  private startDropping(): void {
    const kept = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    this.dropping = true;
    this.dropped = 0;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
    this.drop(kept);
  }

  private drop(piece: Buffer): void {
    if (piece.length === 0) return;
    this.dropped += piece.length;
    const edge = this.edge;
    if (this.head.length < edge)
      this.head = Buffer.concat([this.head, piece.subarray(0, edge - this.head.length)]);
    this.tail =
      piece.length >= edge
        ? Buffer.from(piece.subarray(piece.length - edge))
        : Buffer.concat([this.tail, piece]).subarray(-edge);
  }

  private endDropping(): OversizeLine {
    const line = { head: this.head.toString("utf8"), tail: this.tail.toString("utf8"), bytes: this.dropped };
    this.dropping = false;
    this.dropped = 0;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
    return line;
  }

  /** The stream ended: a last line without its newline is passed on like any other. */
  end(onLine: (line: string) => void, onOversize: (line: OversizeLine) => void): void {
    if (this.dropping) onOversize(this.endDropping());
    else if (this.size > 0) {
      const line = Buffer.concat(this.chunks, this.size).toString("utf8");
      this.chunks = [];
      this.size = 0;
      onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.dropping = false;
    this.dropped = 0;
  }
}

/** Parses one line into a JSON-RPC message, or explains why it is not one. */
export function parseMessage(line: string): JSONRPCMessage | Error {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (typeof value !== "object" || value === null || (value as { jsonrpc?: unknown }).jsonrpc !== "2.0") {
    return new NotJsonRpc(value);
  }
  return value as JSONRPCMessage;
}

/** Valid JSON that is not a JSON-RPC 2.0 message (kept so a front can still answer its id). */
export class NotJsonRpc extends Error {
  constructor(readonly value: unknown) {
    super("not a JSON-RPC 2.0 message");
    this.name = "NotJsonRpc";
  }
}
