import type {
  ClientCapabilities,
  JSONRPCMessage,
  MessageExtraInfo,
  McpServerFactory,
  RequestId,
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/server";
import { serveStdio as serveSdkStdio, type StdioServerHandle } from "@modelcontextprotocol/server/stdio";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import { ListenFollows, listenResourceUris } from "./listenFollows.js";
import { FrontSession } from "./session.js";
import { LineServerTransport } from "./stdioTransport.js";
import { isObject } from "../jsonrpc/isObject.js";

export interface StdioFrontOptions {
  readonly backend: FrontBackend;
  readonly log: Logger;
  readonly pageSize: number;
  /** Deepest nesting accepted in a message from the client (maxJsonDepth). */
  readonly maxJsonDepth?: number;
  /**
   * Called with the client's capabilities when its first message arrives (a 2025-era initialize's
   * `capabilities`, a 2026-07-28 request's `_meta` client capabilities), before it is answered: the
   * aggregator connects its downstreams then, declaring sampling / elicitation / roots only if the
   * client has them, and our answer advertises what those servers really offer.
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

const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";

/**
 * Serves one MCP client on stdin/stdout, of either generation, through the SDK's `serveStdio` entry over
 * our LineServerTransport: a 2025-era client opens with `initialize` and gets a session as before; a
 * 2026-07-28 client (`server/discover`, or any request with the `_meta` envelope) pins the connection to
 * the modern generation. Either way the one FrontSession (the same handlers) answers.
 */
export async function serveStdio(options: StdioFrontOptions, onEnd: () => void): Promise<StdioServerHandle> {
  const stdin = (options.stdin ?? process.stdin) as NodeJS.ReadStream;
  const backend = options.backend;
  const line = new LineServerTransport(
    stdin,
    options.stdout ?? process.stdout,
    undefined,
    options.maxJsonDepth,
  );
  options.onTransport?.(line);
  stdin.once("end", onEnd);
  stdin.once("close", onEnd);
  // The client closed our stdout (it went away without closing stdin first): stop like on stdin EOF.
  line.onOutputLost = (error) => {
    options.log.warn({ err: error.message }, "stdio front: the client closed stdout; shutting down");
    onEnd();
  };

  // The aggregator starts once, with the capabilities of the client's first message.
  let started: Promise<void> | undefined;
  const start = (first: JSONRPCMessage): void => {
    started ??= options.onClientInitialize(capabilitiesOf(first));
  };
  const follows = new ListenFollows(backend, options.log);
  const listening = new Map<RequestId, () => void>();
  const wire = new ObservedTransport(line, (message) => {
    start(message);
    followListen(message, listening, follows);
  });

  const factory: McpServerFactory = async ({ era }) => {
    await started;
    const session = new FrontSession("stdio", backend, {
      pageSize: options.pageSize,
      log: options.log,
      transport: "stdio",
      era,
    });
    // Open at once, as before (a 2025-era `initialized` opens it again; 2026-07-28 has none). A discarded
    // server/discover probe instance closes it again before the 2025-era instance opens.
    backend.sessionOpened(session);
    return session.server;
  };
  return serveSdkStdio(factory, {
    transport: wire,
    onerror: (error) => options.log.warn({ err: error.message }, "stdio front: bad input from the client"),
  });
}

/** A listen stream on stdio follows resources until the client cancels it (or the connection ends). */
function followListen(
  message: JSONRPCMessage,
  listening: Map<RequestId, () => void>,
  follows: ListenFollows,
): void {
  if (!("method" in message)) return;
  if (message.method === "notifications/cancelled") {
    const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
    if (id === undefined) return;
    listening.get(id)?.();
    listening.delete(id);
    return;
  }
  const listen = listenResourceUris(message);
  if (listen && !listening.has(listen.id)) listening.set(listen.id, follows.follow("stdio", listen.uris));
}

/** What the first message says of the client: initialize's capabilities, or a modern `_meta`'s. */
function capabilitiesOf(message: JSONRPCMessage): ClientCapabilities {
  if (!("method" in message)) return {};
  const params = message.params as Record<string, unknown> | undefined;
  if (message.method === "initialize") {
    const caps = params?.["capabilities"];
    if (isObject(caps)) return caps as ClientCapabilities;
  }
  const meta = params?.["_meta"];
  const caps = isObject(meta) ? meta[CLIENT_CAPABILITIES_KEY] : undefined;
  return isObject(caps) ? (caps as ClientCapabilities) : {};
}

/**
 * The LineServerTransport as the SDK entry's wire: every inbound message is shown to `observe` first
 * (the capabilities of the first one start the aggregator; listen streams' resources are followed).
 */
class ObservedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  constructor(
    private readonly inner: LineServerTransport,
    observe: (message: JSONRPCMessage) => void,
  ) {
    inner.onmessage = (message) => {
      observe(message);
      this.onmessage?.(message);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
