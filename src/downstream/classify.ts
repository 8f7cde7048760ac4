import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from "@modelcontextprotocol/client";
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
 * the server's own JSON-RPC error (a ProtocolError) with its code and its original message. The v2 SDK
 * reports its own failures as SdkError (timeout, connection closed, HTTP status), never as a JSON-RPC
 * code, so a server's -32000 is always the server's answer and a closed connection always a lost link. A request we could not
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
  if (error instanceof SdkHttpError) {
    if (error.status === 404) {
      // Reconnect once: only if this request's session is still the current one. Callers may retry.
      if (ctx.current) ctx.onSessionExpired();
      return new AggregatorError("SERVER_UNAVAILABLE", `${server}: session expired; reconnecting`, {
        cause: error,
        details: { server, sessionExpired: true, incident: ctx.incident },
      });
    }
    return new AggregatorError("SERVER_UNAVAILABLE", `${server}: ${what} failed: ${errorMessage(error)}`, {
      cause: error,
      details: { server, httpStatus: error.status },
    });
  }
  // The server's own JSON-RPC error: forwarded with its code and message.
  if (error instanceof ProtocolError) return error;
  if (error instanceof SdkError) {
    if (code === SdkErrorCode.RequestTimeout) {
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
    if (code === SdkErrorCode.ConnectionClosed) {
      return new AggregatorError(
        "SERVER_UNAVAILABLE",
        `${server}: the connection was lost while ${what} was in flight (${ctx.lastError ?? "connection closed"})`,
        { cause: error, details: { server, connectionLost: true, incident: ctx.incident } },
      );
    }
  }
  return new AggregatorError("SERVER_UNAVAILABLE", `${server}: ${what} failed: ${errorMessage(error)}`, {
    cause: error,
    details: { server, ...(ctx.current ? {} : { incident: ctx.incident }) },
  });
}

/** Spawn errors no restart can fix (the command is missing or not executable). */
export function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "EACCES";
}
