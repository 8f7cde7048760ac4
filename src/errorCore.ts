/**
 * Local errors: a string code plus an ES2022 `cause`. They never cross the wire as such; the front maps
 * them to MCP results or JSON-RPC errors in one place (front/errorMap.ts).
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_NOT_FOUND"
  | "UNKNOWN_TOOL"
  | "INVALID_ARGUMENTS"
  | "SERVER_UNAVAILABLE"
  | "SERVER_BUSY"
  | "BREAKER_OPEN"
  | "DOWNSTREAM_TIMEOUT"
  | "DOWNSTREAM_ERROR"
  /** A live server's answer we refuse to forward: too large, nested too deep, not a tools/call result. */
  | "INVALID_RESULT"
  | "CANCELLED"
  | "WORKFLOW_INVALID"
  | "WORKFLOW_FAILED"
  | "TEMPLATE_ERROR"
  /** An OAuth server has no usable token (never logged in, or the token was revoked): run `login`. */
  | "AUTH_REQUIRED"
  /** Cluster mode: a stateful server's write found no owner replica to run it (src/cluster/owners.ts). */
  | "OWNER_UNAVAILABLE"
  /** Cluster mode: a call needed the state shared through Redis (idempotency, rate limits) while Redis is unreachable. */
  | "CLUSTER_STATE_UNAVAILABLE"
  /** A tools/call over a configured rate limit (cluster.rateLimits). */
  | "RATE_LIMITED"
  /** An idempotency key reused for a different call, or whose first call failed in a way that may have taken effect. */
  | "IDEMPOTENCY_CONFLICT";

export class AggregatorError extends Error {
  readonly code: ErrorCode;
  /** Extra facts for the message mapper and logs (server, tool, retryAt, ...). Never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AggregatorError";
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }
}

export function isAggregatorError(err: unknown, code?: ErrorCode): err is AggregatorError {
  return err instanceof AggregatorError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
