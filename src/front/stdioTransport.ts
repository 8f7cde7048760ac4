import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { LineBuffer, parseMessage } from "../downstream/lineBuffer.js";
import { WriteBatcher } from "../downstream/writeBatcher.js";

/**
 * The stdio front's transport: newline-delimited JSON-RPC on stdin/stdout, like the SDK's
 * StdioServerTransport, but each line is parsed once with JSON.parse (no per-message zod pass: the
 * Protocol layer checks what each handler needs), and a line that is not JSON-RPC is answered with a
 * JSON-RPC parse error instead of being dropped silently.
 */
export class LineServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Sees each message first; returning true means it was handled (the stdio fast path). */
  intercept?: (message: JSONRPCMessage) => boolean;
  /**
   * stdout failed (EPIPE: the client closed its end): nothing more can reach the client. Called once;
   * later writes are dropped instead of raising an unhandled 'error' event that would end the process
   * without stopping its servers.
   */
  onOutputLost?: (error: Error) => void;
  private outputLost = false;

  private readonly buffer: LineBuffer;
  private started = false;
  private closed = false;

  constructor(
    private readonly stdin: NodeJS.ReadableStream,
    private readonly stdout: NodeJS.WritableStream,
    maxMessageBytes = 64 * 1024 * 1024,
  ) {
    this.buffer = new LineBuffer(maxMessageBytes);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    try {
      this.buffer.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, this.onLine);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      void this.send({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: String(error) },
      } as unknown as JSONRPCMessage);
    }
  };

  private readonly onLine = (line: string): void => {
    const message = parseMessage(line);
    if (message instanceof Error) {
      this.onerror?.(message);
      void this.send({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: `Parse error: ${message.message}` },
      } as unknown as JSONRPCMessage);
      return;
    }
    if ("method" in message) {
      if ("id" in message) this.unanswered.add(message.id);
      // A cancelled request is not answered (MCP): it no longer waits for anything.
      else if (message.method === "notifications/cancelled")
        this.unanswered.delete((message.params as { requestId?: RequestId } | undefined)?.requestId ?? "");
    }
    if (this.intercept?.(message)) return;
    this.onmessage?.(message);
  };

  private readonly unanswered = new Set<RequestId>();

  /**
   * Requests received and not answered yet (the shutdown waits for them within its grace period); 0
   * once stdout is lost, since no answer can reach the client any more.
   */
  get pendingRequests(): number {
    return this.outputLost ? 0 : this.unanswered.size;
  }

  /**
   * End of input: no more requests, but the transport stays open so that the calls still in flight can
   * be answered; whoever owns it closes it once they are (serve: after the shutdown's grace period).
   */
  private readonly onEnd = (): void => this.stopReading();
  private readonly onStreamError = (error: Error): void => this.onerror?.(error);
  private readonly onOutputError = (error: Error): void => {
    if (this.outputLost) return;
    this.outputLost = true;
    this.onerror?.(error);
    this.onOutputLost?.(error);
  };

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stdin.on("data", this.onData);
    this.stdin.on("error", this.onStreamError);
    this.stdin.once("end", this.onEnd);
    // Stays attached after close(): a write still in the pipe may fail later.
    this.stdout.on("error", this.onOutputError);
  }

  /** Whether a write may wait a turn for more answers (other calls are in flight); set by the front. */
  worthWaiting: ((batchSize: number) => boolean) | undefined;

  private readonly batcher = new WriteBatcher(
    () => this.stdout,
    (batchSize) => this.worthWaiting?.(batchSize) === true,
  );

  send(message: JSONRPCMessage): Promise<void> {
    if (!("method" in message) && "id" in message && this.unanswered.size > 0)
      this.unanswered.delete(message.id as RequestId);
    if (this.closed || this.outputLost) return Promise.resolve();
    return this.batcher.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.outputLost) this.batcher.flushNow();
    this.closed = true;
    this.stopReading();
    this.onclose?.();
  }

  private stopReading(): void {
    this.stdin.off("data", this.onData);
    this.stdin.off("error", this.onStreamError);
    this.stdin.off("end", this.onEnd);
    this.buffer.clear();
  }
}
