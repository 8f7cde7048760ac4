import type { Transport } from "@modelcontextprotocol/server";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/server";
import { LineBuffer, NotJsonRpc, parseMessage, type OversizeLine } from "../jsonrpc/lineBuffer.js";
import { DEFAULT_MAX_JSON_DEPTH, readableId } from "../jsonrpc/depth.js";
import { idFromEdges } from "../jsonrpc/rejected.js";
import { errorAnswer, screenDepth, screenShape, type Refusal } from "../jsonrpc/screen.js";
import { serialize } from "../jsonrpc/serialize.js";
import { LineWriter } from "../jsonrpc/lineWriter.js";

/**
 * The stdio front's transport: newline-delimited JSON-RPC on stdin/stdout, like the SDK's
 * StdioServerTransport, but each line is parsed once with JSON.parse (no per-message zod pass: the
 * Protocol layer checks what each handler needs), and a line that is not JSON-RPC is answered with a
 * JSON-RPC parse error instead of being dropped silently. Hostile input fails alone: a line over
 * maxMessageBytes or nested deeper than maxJsonDepth, or a request the SDK would not recognise, gets a
 * JSON-RPC error with its id when the id is readable (src/jsonrpc/screen.ts), and the session goes on.
 */
export class LineServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
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
    private readonly maxMessageBytes = 64 * 1024 * 1024,
    private readonly maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
  ) {
    this.buffer = new LineBuffer(maxMessageBytes);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    this.buffer.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, this.onLine, this.onOversize);
  };

  private readonly onOversize = (line: OversizeLine): void => {
    const why = `a message of ${line.bytes} bytes exceeds the limit of ${this.maxMessageBytes} bytes`;
    this.refuse({
      reply: errorAnswer(idFromEdges(line.head, line.tail) ?? null, -32600, `Invalid Request: ${why}`),
      reason: why,
    });
  };

  private readonly onLine = (line: string): void => {
    const message = parseMessage(line);
    if (message instanceof Error && !(message instanceof NotJsonRpc)) {
      this.refuse({
        reply: errorAnswer(null, -32700, `Parse error: ${message.message}`),
        reason: message.message,
      });
      return;
    }
    const value = message instanceof NotJsonRpc ? message.value : message;
    const tooDeep = screenDepth(value, line.length, this.maxJsonDepth);
    if (tooDeep) return this.refuse(tooDeep);
    if (!(message instanceof NotJsonRpc)) this.track(message);
    // The SDK leaves a request it does not recognise unanswered: those get -32600 with their id here.
    const malformed = screenShape(value as Record<string, unknown>);
    if (malformed) return this.refuse(malformed);
    this.onmessage?.(message as JSONRPCMessage);
  };

  /** Requests waiting for an answer (the shutdown waits for them); a cancelled one waits for nothing. */
  private track(message: JSONRPCMessage): void {
    if (!("method" in message)) return;
    if ("id" in message) this.unanswered.add(message.id);
    // A cancelled request is not answered (MCP): it no longer waits for anything.
    else if (message.method === "notifications/cancelled")
      this.unanswered.delete((message.params as { requestId?: RequestId } | undefined)?.requestId ?? "");
  }

  private refuse(refused: Refusal): void {
    this.onerror?.(new Error(refused.reason));
    // One message per line: stdio never hands a batch to the screen, so a reply is never an array here.
    const replies =
      refused.reply === undefined ? [] : Array.isArray(refused.reply) ? refused.reply : [refused.reply];
    for (const reply of replies) void this.send(reply);
  }

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

  private readonly writer = new LineWriter(() => this.stdout);

  send(message: JSONRPCMessage): Promise<void> {
    if (!("method" in message) && "id" in message && this.unanswered.size > 0)
      this.unanswered.delete(message.id as RequestId);
    if (this.closed || this.outputLost) return Promise.resolve();
    let line: string;
    try {
      line = `${serialize(message)}\n`;
    } catch (error) {
      // An answer we cannot serialise must still answer its request.
      const id = readableId(message);
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      if (id === undefined) return Promise.resolve();
      line = `${JSON.stringify(errorAnswer(id, -32603, "autonomous-mcp internal error: the answer could not be serialised"))}\n`;
    }
    return this.writer.write(line);
  }

  async close(): Promise<void> {
    if (this.closed) return;
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
