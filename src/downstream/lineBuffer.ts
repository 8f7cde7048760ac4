import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * Splits a byte stream into newline-delimited JSON-RPC messages.
 *
 * Unlike the SDK's ReadBuffer it does not re-parse each message with zod (the Protocol layer checks what
 * it needs) and does not copy the whole buffer on every chunk, so large results cost O(n).
 */
export class LineBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; calls onLine for each complete line. Throws if one line would exceed maxLineBytes. */
  push(chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
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
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      if (this.size > this.maxLineBytes) {
        this.chunks = [];
        this.size = 0;
        throw new Error(`a message exceeded ${this.maxLineBytes} bytes`);
      }
      this.chunks.push(rest);
    }
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
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
    return new Error("not a JSON-RPC 2.0 message");
  }
  return value as JSONRPCMessage;
}
