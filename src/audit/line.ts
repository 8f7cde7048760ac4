import { isAggregatorError } from "../errorCore.js";
import type { CallEvent } from "../pipeline/middleware/observe.js";

/** Longest JSON text kept for a call's arguments or result when payloads are audited. */
export const MAX_PAYLOAD_CHARS = 65_536;

/**
 * One line of the audit log (JSON Lines; docs/operations.md "Audit log"). Absent fields are left out,
 * never written as null. Arguments, results and error texts only when `includePayloads` is on.
 */
export interface AuditLine {
  /** When the call ended, ISO 8601 UTC. */
  readonly time: string;
  /** The aggregator's request id of the call (also in the debug log lines of that call). */
  readonly id: string;
  /** The front session: stdio's one session, or the HTTP session's id. */
  readonly session?: string;
  /** The authenticated HTTP principal; absent on stdio. */
  readonly principal?: string;
  /** The tool name the client called. */
  readonly tool: string;
  /** The downstream server ("autonomous-mcp" for meta-tools and workflows). */
  readonly server: string;
  /** The tool's name on its server. */
  readonly originalTool: string;
  readonly outcome: CallEvent["outcome"];
  readonly durationMs: number;
  readonly attempts?: number;
  readonly cache?: string;
  /** Why it failed: our error code (DOWNSTREAM_TIMEOUT…), a JSON-RPC code, or "tool_error". */
  readonly errorCode?: string | number;
  readonly error?: string;
  readonly arguments?: unknown;
  readonly result?: unknown;
}

/** The audit line of a finished call. `scrub` removes known secrets from texts and payloads. */
export function auditLine(
  event: CallEvent,
  includePayloads: boolean,
  scrub: (text: string) => string,
): AuditLine {
  const ctx = event.ctx;
  const code = errorCodeOf(event);
  return {
    time: new Date(event.at ?? Date.now()).toISOString(),
    id: ctx?.requestId ?? "",
    ...(ctx?.sessionId !== undefined ? { session: ctx.sessionId } : {}),
    ...(event.principal !== undefined ? { principal: event.principal } : {}),
    tool: ctx?.route.publicName ?? event.tool,
    server: event.server,
    originalTool: event.tool,
    outcome: event.outcome,
    durationMs: Math.round(event.durationMs * 1000) / 1000,
    ...(event.attempts > 0 ? { attempts: event.attempts } : {}),
    ...(event.cache !== undefined ? { cache: event.cache } : {}),
    ...(code !== undefined ? { errorCode: code } : {}),
    ...(includePayloads && event.error !== undefined ? { error: scrub(event.error) } : {}),
    ...(includePayloads && ctx ? { arguments: payload(ctx.args, scrub) } : {}),
    ...(includePayloads && isResult(event.settled) ? { result: payload(event.settled, scrub) } : {}),
  };
}

/** undefined for "ok"; else the code a SIEM rule can match on. */
export function errorCodeOf(event: CallEvent): string | number | undefined {
  if (event.outcome === "ok") return undefined;
  const settled = event.settled;
  if (isAggregatorError(settled)) return settled.code;
  const code = (settled as { code?: unknown } | null | undefined)?.code;
  if (typeof code === "number") return code;
  if (event.outcome === "invalid") return "INVALID_ARGUMENTS";
  return event.outcome === "tool_error" ? "tool_error" : event.outcome;
}

function isResult(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Error);
}

/** The value, or its JSON cut to MAX_PAYLOAD_CHARS (then a string, marked); secrets scrubbed. */
function payload(value: unknown, scrub: (text: string) => string): unknown {
  let text: string;
  try {
    text = JSON.stringify(value) ?? "null";
  } catch {
    return "[not serializable]";
  }
  const clean = scrub(text);
  if (clean.length > MAX_PAYLOAD_CHARS)
    return `${clean.slice(0, MAX_PAYLOAD_CHARS)}…[cut at ${MAX_PAYLOAD_CHARS} characters]`;
  if (clean === text) return value;
  try {
    return JSON.parse(clean) as unknown;
  } catch {
    return clean;
  }
}
