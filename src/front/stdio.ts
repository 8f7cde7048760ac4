import type { Transport } from "@modelcontextprotocol/server";
import type { ClientCapabilities, JSONRPCMessage } from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import { FrontSession } from "./session.js";
import { LineServerTransport } from "./stdioTransport.js";

export interface StdioFrontOptions {
  readonly backend: FrontBackend;
  readonly log: Logger;
  readonly pageSize: number;
  /** Deepest nesting accepted in a message from the client (maxJsonDepth). */
  readonly maxJsonDepth?: number;
  /**
   * Called with the client's capabilities when its initialize arrives, before we answer it: the
   * aggregator connects its downstreams then, declaring sampling / elicitation / roots only if the
   * client has them, and our initialize result advertises what those servers really offer.
   */
  readonly onClientInitialize: (capabilities: ClientCapabilities) => Promise<void>;
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout?: NodeJS.WritableStream;
  /**
   * Given the front's transport as soon as it exists. stdin EOF does not close it (calls in flight can
   * still be answered): the owner closes it when its shutdown is over.
   */
  readonly onTransport?: (transport: LineServerTransport) => void;
}

/** Serves one MCP client on stdin/stdout. Resolves once the session is connected. */
export async function serveStdio(options: StdioFrontOptions, onEnd: () => void): Promise<FrontSession> {
  const stdin = (options.stdin ?? process.stdin) as NodeJS.ReadStream;
  const inner = new LineServerTransport(
    stdin,
    options.stdout ?? process.stdout,
    undefined,
    options.maxJsonDepth,
  );
  options.onTransport?.(inner);
  const held: JSONRPCMessage[] = [];
  let firstMessage: (message: JSONRPCMessage) => void = () => undefined;
  const first = new Promise<JSONRPCMessage>((resolve) => (firstMessage = resolve));
  inner.onmessage = (message) => {
    held.push(message);
    if (held.length === 1) firstMessage(message);
  };
  inner.onerror = (error) =>
    options.log.warn({ err: error.message }, "stdio front: bad input from the client");
  stdin.once("end", onEnd);
  stdin.once("close", onEnd);
  // The client closed our stdout (it went away without closing stdin first): stop like on stdin EOF.
  inner.onOutputLost = (error) => {
    options.log.warn({ err: error.message }, "stdio front: the client closed stdout; shutting down");
    onEnd();
  };
  await inner.start();

  const message = await first;
  const caps =
    "method" in message && message.method === "initialize"
      ? ((message.params as { capabilities?: ClientCapabilities } | undefined)?.capabilities ?? {})
      : {};
  await options.onClientInitialize(caps);

  const session = new FrontSession("stdio", options.backend, {
    pageSize: options.pageSize,
    log: options.log,
    transport: "stdio",
  });
  const replay = new ReplayTransport(inner);
  await session.server.connect(replay);
  inner.onmessage = (m) => replay.onmessage?.(m);
  for (const m of held.splice(0)) replay.onmessage?.(m);
  options.backend.sessionOpened(session);
  return session;
}

/** Hands an already started transport to the SDK Server (whose connect() calls start()). */
class ReplayTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(private readonly inner: LineServerTransport) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
  }

  async start(): Promise<void> {}

  send(message: JSONRPCMessage): Promise<void> {
    return this.inner.send(message);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
