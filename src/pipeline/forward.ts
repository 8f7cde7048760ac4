import { ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import type { DownstreamConnection } from "../downstream/connection.js";
import type { ConnectionPool } from "../downstream/pool.js";
import { AggregatorError } from "../errors.js";
import type { Handler } from "./types.js";

export interface ForwardOptions {
  /** Servers whose JSON-RPC errors are really tool failures (server-github reports a 404 as -32603). */
  readonly rpcErrorsAreToolErrors?: (server: string) => boolean;
  readonly now?: () => number;
  /**
   * The connection for (server, client session): the session's own for sessionMode "per-client" servers
   * (may throw SERVER_BUSY past the per-server bound); default: the pool's shared one.
   */
  readonly connectionFor?: (
    server: string,
    sessionId: string | undefined,
  ) => DownstreamConnection | undefined;
}

const ignoreProgress = (): void => undefined;

/** The pipeline's last layer: the only place a downstream Client is called for tools/call. */
export function createForward(pool: ConnectionPool, options: ForwardOptions = {}): Handler {
  const now = options.now ?? Date.now;
  const asToolError = options.rpcErrorsAreToolErrors ?? (() => false);
  const connectionFor = options.connectionFor ?? ((server: string) => pool.get(server));
  return async function forward(ctx): Promise<CallToolResult> {
    const { server, originalName } = ctx.route;
    // Cancelled on the way in (while queued, between attempts): the downstream never sees the call.
    if (ctx.signal.aborted)
      throw new AggregatorError("CANCELLED", "the call was cancelled", {
        cause: ctx.signal.reason,
        details: { server },
      });
    const connection = connectionFor(server, ctx.sessionId);
    if (!connection)
      throw new AggregatorError("SERVER_UNAVAILABLE", `${server} is not running`, { details: { server } });
    try {
      return await connection.callTool(
        originalName,
        ctx.args,
        ctx.meta,
        {
          signal: ctx.signal,
          timeoutMs: ctx.attemptTimeoutMs,
          maxTotalTimeoutMs: Math.max(1, ctx.deadlineAt - now()),
          // Always ask for progress, even when the caller sent no progressToken: downstream progress is what
          // restarts the per-attempt timeout of a long call (notifications nobody asked for are dropped).
          onprogress: ctx.onProgress ?? ignoreProgress,
          input: ctx.input,
        },
        ctx.deadlineAt,
      );
    } catch (error) {
      if (error instanceof ProtocolError && asToolError(server))
        return rpcErrorResult(server, originalName, error);
      throw error;
    }
  };
}

/** "MCP error -32603: Not Found: Resource not found" → an isError result the model can read. */
function rpcErrorResult(server: string, tool: string, error: ProtocolError): CallToolResult {
  // Keep the server's words, not its stack: some servers put a JavaScript stack into the message.
  const message = error.message
    .replace(/^MCP error -?\d+:\s*/, "")
    .split("\n")
    .filter((line) => !/^\s+at\s/.test(line))
    .join("\n")
    .trim();
  return {
    isError: true,
    content: [{ type: "text", text: `${server} ${tool} failed: ${message}` }],
    _meta: { "autonomous-mcp/rpcErrorCode": error.code },
  };
}
