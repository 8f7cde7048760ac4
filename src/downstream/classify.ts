import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AggregatorError, errorMessage, isAggregatorError } from "../errors.js";
import { rejectionOf } from "../jsonrpc/rejectedError.js";
import { UnserializableMessage } from "../jsonrpc/serialize.js";
import { RetryAfterError } from "./retryAfter.js";

export interface FailureContext {
  readonly server: string;
  /** The request went out on the connection that is still current (not a dropped one). */
  readonly current: boolean;
  /** Names the link the request used: calls failing on the same lost link count once (breaker.ts). */
  readonly incident: string;
  readonly lastError: string | undefined;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly timeoutMs: number;
  readonly aborted: boolean;
  /** An HTTP 404 on the current session: the server forgot it. */
  readonly onSessionExpired: () => void;
}

/**
 * A failed downstream request → CANCELLED, DOWNSTREAM_TIMEOUT, SERVER_UNAVAILABLE (the link failed), or
 * the server's own JSON-RPC error with its code and its original message. "Connection closed" (-32000)
 * is a lost link only if the request's connection was dropped meanwhile; otherwise -32000 is an ordinary
 * server error code (many servers use it), forwarded as the server's answer. A request we could not
 * serialise is INVALID_ARGUMENTS; an answer we refused (too large, too deep, not a tools/call result)
 * is INVALID_RESULT. Neither is a transport failure: no retry, no breaker count.
 */
export function classifyFailure(error: unknown, ctx: FailureContext): unknown {
  const { server } = ctx;
  if (ctx.aborted) {
    return new AggregatorError("CANCELLED", "the call was cancelled", { cause: error, details: { server } });
  }
  const what =
    ctx.method === "tools/call" && typeof ctx.params["name"] === "string" ? ctx.params["name"] : ctx.method;
  // Already ours (the stdio transport refused a request: SERVER_BUSY, the server's input is full).
  if (isAggregatorError(error)) return error;
  const code = (error as { code?: unknown }).code;
  if (error instanceof RetryAfterError) {
    return new AggregatorError("SERVER_UNAVAILABLE", `${server}: ${what} was refused: ${error.message}`, {
      cause: error,
      details: { server, httpStatus: error.status, retryAfterMs: error.retryAfterMs },
    });
  }
  if (error instanceof UnserializableMessage) {
    // Our side could not write this one request (arguments nested too deep, …): the link is fine.
    return new AggregatorError("INVALID_ARGUMENTS", `${what}: ${error.message}`, {
      cause: error,
      details: { server },
    });
  }
  const rejection = rejectionOf(error);
  if (rejection) {
    // A live server answered, with something we will not forward: this call fails, nothing else does.
    return new AggregatorError("INVALID_RESULT", `${server}: ${what} ${rejection.detail}`, {
      cause: error,
      details: { server, rejected: rejection.kind },
    });
  }
  if (error instanceof StreamableHTTPError) {
    if (code === 404) {
      // Reconnect once: only if this request's session is still the current one. Callers may retry.
      if (ctx.current) ctx.onSessionExpired();
      return new AggregatorError("SERVER_UNAVAILABLE", `${server}: session expired; reconnecting`, {
        cause: error,
        details: { server, sessionExpired: true, incident: ctx.incident },
      });
    }
    return new AggregatorError("SERVER_UNAVAILABLE", `${server}: ${what} failed: ${errorMessage(error)}`, {
      cause: error,
      details: { server, httpStatus: code },
    });
  }
  if (error instanceof McpError) {
    if (code === ErrorCode.RequestTimeout) {
      const data = error.data as { maxTotalTimeout?: unknown } | undefined;
      const total = typeof data?.maxTotalTimeout === "number";
      const message = total
        ? `${server}: ${what} did not finish within its total budget (totalTimeoutMs)`
        : `${server}: ${what} timed out after ${ctx.timeoutMs} ms (timeoutMs)`;
      return new AggregatorError("DOWNSTREAM_TIMEOUT", message, {
        cause: error,
        details: { server, timeoutMs: total ? data?.maxTotalTimeout : ctx.timeoutMs },
      });
    }
    if (code !== ErrorCode.ConnectionClosed || ctx.current) return withServerMessage(error);
    return new AggregatorError(
      "SERVER_UNAVAILABLE",
      `${server}: the connection was lost while ${what} was in flight (${ctx.lastError ?? "connection closed"})`,
      { cause: error, details: { server, connectionLost: true, incident: ctx.incident } },
    );
  }
  return new AggregatorError("SERVER_UNAVAILABLE", `${server}: ${what} failed: ${errorMessage(error)}`, {
    cause: error,
    details: { server, ...(ctx.current ? {} : { incident: ctx.incident }) },
  });
}

/**
 * The SDK's McpError prefixes the server's message with "MCP error <code>: "; the front would send that
 * prefix on (and the client's SDK adds its own). Keep the server's message as it was on the wire.
 */
function withServerMessage(error: McpError): McpError {
  const prefix = `MCP error ${error.code}: `;
  if (!error.message.startsWith(prefix)) return error;
  const copy = new McpError(error.code, "", error.data);
  copy.message = error.message.slice(prefix.length);
  return copy;
}

/** Spawn errors no restart can fix (the command is missing or not executable). */
export function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "EACCES";
}
