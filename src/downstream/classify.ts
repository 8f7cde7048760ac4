import {
  InsufficientScopeError,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/client";
import { AggregatorError, errorMessage, isAggregatorError } from "../errors.js";
import { rejectionOf } from "../jsonrpc/rejectedError.js";
import { UnserializableMessage } from "../jsonrpc/serialize.js";
import { RetryAfterError } from "./retryAfter.js";
import { authRequired } from "../oauth/provider.js";

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
  if (error instanceof InsufficientScopeError) {
    // 403 insufficient_scope (step-up): a new sign-in with the wider scope, not a broken link.
    const scope = (error.requiredScope ?? "").replace(/[^\w:./ -]/g, "").slice(0, 200);
    return authRequired(server, `${what} needs a wider OAuth scope (${scope || "unnamed"})`, error);
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
        ? `${server}: ${what} did not finish within its total budget of ${String(data?.maxTotalTimeout)} ms (totalTimeoutMs)`
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

/**
 * Failures no restart can fix: the command is missing or not executable, or the server and we share no
 * protocol version (versionMismatch below). Everything else is retried within the restart budget.
 */
export function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "EACCES" || versionMismatch(error) !== undefined;
}

/** The versions autonomous-mcp speaks downstream: 2026-07-28 through server/discover, the rest through initialize. */
export const MODERN_VERSIONS: readonly string[] = ["2026-07-28"];
export const OFFERED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

const UNSUPPORTED_PROTOCOL_VERSION = -32022;
const UNSUPPORTED_ANSWER = /^Server's protocol version is not supported: (.+)$/;

export interface VersionMismatch {
  /** What the server says it speaks (-32022 `data.supported`, or its initialize answer). */
  readonly serverVersions: readonly string[];
  /** The version we asked for in the refused request, when known. */
  readonly requested: string | undefined;
}

/**
 * A connect failure that says the server and we have no protocol version in common: a -32022
 * (UnsupportedProtocolVersionError, from the SDK's probe or from the server's answer to initialize)
 * whose `data.supported` shares nothing with OFFERED_VERSIONS, or an initialize answer naming a version
 * we do not speak. A -32022 listing a version we do speak is not one: the server changed generation
 * since it was last probed, and the next connect probes it again.
 */
export function versionMismatch(error: unknown): VersionMismatch | undefined {
  const answered = error instanceof Error ? UNSUPPORTED_ANSWER.exec(error.message) : null;
  if (answered?.[1]) return { serverVersions: [answered[1]], requested: undefined };
  if (!(error instanceof ProtocolError) || error.code !== UNSUPPORTED_PROTOCOL_VERSION) return undefined;
  const data = error.data as { supported?: unknown; requested?: unknown } | undefined;
  const supported = Array.isArray(data?.supported)
    ? data.supported.filter((v): v is string => typeof v === "string")
    : [];
  if (supported.some((v) => OFFERED_VERSIONS.includes(v))) return undefined;
  return {
    serverVersions: supported,
    requested: typeof data?.requested === "string" ? data.requested : undefined,
  };
}

/** A -32022 naming a version we speak: the cached verdict is stale (the server changed generation). */
export function isStaleVerdict(error: unknown): boolean {
  return (
    error instanceof ProtocolError &&
    error.code === UNSUPPORTED_PROTOCOL_VERSION &&
    versionMismatch(error) === undefined
  );
}

/**
 * The one text a version mismatch is reported with (logs, `status`, `doctor`), naming both sides:
 * "memory speaks 2027-01-01 only; autonomous-mcp offered 2025-11-25 and speaks 2026-07-28, 2025-11-25, …".
 */
export function describeVersionMismatch(server: string, mismatch: VersionMismatch): AggregatorError {
  const theirs =
    mismatch.serverVersions.length > 0 ? `${mismatch.serverVersions.join(", ")} only` : "no version it named";
  const offered = mismatch.requested ? `offered ${mismatch.requested} and ` : "";
  return new AggregatorError(
    "SERVER_UNAVAILABLE",
    `${server} speaks ${theirs}; autonomous-mcp ${offered}speaks ${OFFERED_VERSIONS.join(", ")}: no protocol version in common (a restart will not help; upgrade the server or autonomous-mcp)`,
    {
      details: {
        server,
        versionMismatch: true,
        serverVersions: mismatch.serverVersions,
        offered: OFFERED_VERSIONS,
      },
    },
  );
}

/** A call that found its server failed, stopped, or not back before its deadline. */
export function unavailableError(
  { name: server, state }: { readonly name: string; readonly state: string },
  what: string,
): AggregatorError {
  return new AggregatorError("SERVER_UNAVAILABLE", `${server} ${what}`, { details: { server, state } });
}

export function cancelledError(server: string): AggregatorError {
  return new AggregatorError("CANCELLED", "the call was cancelled", { details: { server } });
}
