import type { JSONRPCMessage } from "@modelcontextprotocol/server";

/** JSON-RPC InternalError; a literal so this module loads no SDK code (stdio.ts is on the pre-spawn path). */
const INTERNAL_ERROR = -32603;

/**
 * A downstream answer we refuse to forward (too large, nested too deep, not a tools/call result) is
 * turned, where it is read, into a JSON-RPC error answer for the same request id carrying this marker
 * in `data`. The request's caller sees one failed call; the link and every other call go on.
 * classify.ts maps the marker to INVALID_RESULT (an `isError` result naming the server, never retried,
 * never counted by the circuit breaker: a live server answered).
 */
export const REJECTED_KEY = "autonomous-mcp/rejected";

export type RejectionKind = "tooLarge" | "tooDeep" | "invalidResult";

export interface Rejection {
  readonly kind: RejectionKind;
  /** What was wrong, phrased to follow "<server>: <tool> " (e.g. "returned a result of 9 bytes, ..."). */
  readonly detail: string;
}

/** The JSON-RPC error answer that stands in for a refused downstream answer. */
export function rejectedAnswer(id: string | number, rejection: Rejection): JSONRPCMessage {
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: INTERNAL_ERROR,
      message: rejection.detail,
      data: { [REJECTED_KEY]: rejection.kind, detail: rejection.detail },
    },
  } as JSONRPCMessage;
}

/** `atLeast`: the answer was not read to its end (`bytes` is how far it got). */
export function tooLarge(bytes: number, limit: number, atLeast = false): Rejection {
  return {
    kind: "tooLarge",
    detail: `returned ${atLeast ? "more than " : ""}${bytes} bytes, over the limit of ${limit} bytes (maxResultBytes); it was not forwarded: ask for less (a narrower query, a page) or raise maxResultBytes for this server`,
  };
}

export function tooDeepResult(limit: number): Rejection {
  return {
    kind: "tooDeep",
    detail: `returned an answer nested deeper than ${limit} levels (maxJsonDepth); it was not forwarded`,
  };
}

export function invalidResult(problem: string, what = "tools/call result"): Rejection {
  return {
    kind: "invalidResult",
    detail: `returned an invalid ${what} (${problem}); it was not forwarded`,
  };
}

/**
 * A downstream answer whose `result` is not a JSON object (null, a string, an array): the SDK would not
 * recognise it as an answer at all, and its request would wait for its timeout. The transports that read
 * downstream messages (downstream/stdio.ts, downstream/ordering.ts) turn it into a rejected answer for
 * that request id instead. Undefined for everything else.
 */
export function answerProblem(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null || !("result" in message) || "method" in message)
    return undefined;
  const result = (message as { result: unknown }).result;
  if (result === null) return "the result is null";
  if (typeof result !== "object") return `the result is a ${typeof result}`;
  if (Array.isArray(result)) return "the result is an array";
  return undefined;
}

/**
 * A cheap check that a tools/call result has the shape clients rely on: an object whose `content`, if
 * present, is an array of objects with a string `type`. O(number of content items); item bodies are
 * not parsed (forward verbatim). Undefined when fine, else what is wrong.
 */
export function toolResultProblem(result: unknown): string | undefined {
  if (result === null) return "the result is null";
  if (typeof result !== "object") return `the result is a ${typeof result}`;
  if (Array.isArray(result)) return "the result is an array";
  const content = (result as { content?: unknown }).content;
  if (content === undefined) return undefined;
  if (!Array.isArray(content))
    return `content is ${content === null ? "null" : `a ${typeof content}`}, not an array`;
  for (let i = 0; i < content.length; i++) {
    const item: unknown = content[i];
    if (typeof item !== "object" || item === null || Array.isArray(item))
      return `content[${i}] is not an object`;
    if (typeof (item as { type?: unknown }).type !== "string") return `content[${i}] has no type`;
  }
  return undefined;
}

/**
 * The request id of a line too large to parse, read from its edges: SDK servers write
 * `{"result":…,"jsonrpc":"2.0","id":N}` (the id last), others `{"jsonrpc":"2.0","id":N,…}`.
 */
export function idFromEdges(head: string, tail: string): string | number | undefined {
  const raw =
    /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,20})\s*\}\s*$/.exec(tail)?.[1] ??
    /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,20})\s*[,}]/.exec(
      head,
    )?.[1];
  if (raw === undefined) return undefined;
  try {
    const id: unknown = JSON.parse(raw);
    return typeof id === "string" || typeof id === "number" ? id : undefined;
  } catch {
    return undefined;
  }
}
