import type { Transport, TransportSendOptions } from "@modelcontextprotocol/client";
import type { JSONRPCMessage } from "@modelcontextprotocol/client";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, readableId, tooDeep } from "../jsonrpc/depth.js";
import { rejectedAnswer, tooDeepResult } from "../jsonrpc/rejected.js";

/**
 * The SDK's Protocol dispatches notifications one microtask late but resolves responses at once, so a
 * progress notification that arrives right before its response (in the same chunk) finds its handler
 * already gone and is dropped. Delivering responses one microtask late keeps the wire order.
 */
export function deliverInOrder(message: JSONRPCMessage, deliver: (m: JSONRPCMessage) => void): void {
  if ("id" in message && !("method" in message)) queueMicrotask(() => deliver(message));
  else deliver(message);
}

/**
 * Wraps an SDK transport (HTTP, SSE) so its responses keep their order behind notifications, and so a
 * message nested deeper than maxJsonDepth fails its own request (or is dropped) instead of reaching
 * code that walks it recursively (src/jsonrpc/depth.ts).
 */
export class OrderedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(
    private readonly inner: Transport,
    maxJsonDepth: number = DEFAULT_MAX_JSON_DEPTH,
  ) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message) => {
      if (tooDeep(message, maxJsonDepth)) {
        const id = "method" in message ? undefined : readableId(message);
        this.onerror?.(new Error(`refused a message from the server: ${depthMessage(maxJsonDepth)}`));
        if (id === undefined) return;
        deliverInOrder(rejectedAnswer(id, tooDeepResult(maxJsonDepth)), (m) => this.onmessage?.(m));
        return;
      }
      deliverInOrder(message, (m) => this.onmessage?.(m));
    };
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Ends the MCP session on the server (HTTP DELETE) where the inner transport can. */
  async terminateSession(): Promise<void> {
    await (this.inner as { terminateSession?: () => Promise<void> }).terminateSession?.();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }
}
