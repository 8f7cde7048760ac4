import { isJSONRPCRequest, type JSONRPCMessage } from "@modelcontextprotocol/server";
import { depthMessage, parsedTooDeep, readableId, tooDeep } from "./depth.js";
import { isObject } from "./isObject.js";

/**
 * What a front does with a client's message before anything walks it (the SDK's zod schemas, our
 * handlers, JSON.stringify of a log line): one answer for every request whose id we can read, and
 * nothing that can stop the process. Shared by the stdio and the HTTP front.
 */
export interface Refusal {
  /** The answer to send (one per member for a batch); undefined when dropped (no id to answer to). */
  readonly reply: JSONRPCMessage | JSONRPCMessage[] | undefined;
  /** For the log line. */
  readonly reason: string;
  /** The reply is an isError tools/call result (HTTP: 200), not a JSON-RPC error (HTTP: 400). */
  readonly isResult?: boolean;
}

export function errorAnswer(id: string | number | null, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code, message } } as unknown as JSONRPCMessage;
}

function invalid(id: string | number | null | undefined, why: string): Refusal {
  return {
    reply: id === undefined ? undefined : errorAnswer(id, -32600, `Invalid Request: ${why}`),
    reason: `Invalid Request: ${why}`,
  };
}

/**
 * The first check of a parsed message: it must be one JSON object, no deeper than `limit`. A
 * tools/call whose arguments alone are too deep gets an `isError` "Invalid arguments" result (a client
 * fault the model can act on); any other over-deep message -32600 with its id, or nothing when its id
 * is unreadable (logged by the caller).
 */
export function screenDepth(value: unknown, textLength: number, limit: number): Refusal | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return invalid(null, "a message must be one JSON object");
  if (!parsedTooDeep(value, textLength, limit)) return undefined;
  const id = readableId(value);
  const why = depthMessage(limit);
  if (id === undefined)
    return { reply: undefined, reason: `a message ${why} without a readable id was dropped` };
  const m = value as Record<string, unknown>;
  const params = m["params"];
  if (
    m["method"] === "tools/call" &&
    typeof params === "object" &&
    params !== null &&
    !Array.isArray(params)
  ) {
    // Too deep because of its arguments alone: a client fault the model can act on.
    const rest: Record<string, unknown> = { ...(params as Record<string, unknown>), arguments: undefined };
    const name = rest["name"];
    if (typeof name === "string" && !tooDeep(rest, limit - 1)) {
      return {
        reply: {
          jsonrpc: "2.0",
          id,
          result: {
            isError: true,
            content: [{ type: "text", text: `Invalid arguments for ${name.slice(0, 200)}: (root): ${why}` }],
          },
        } as JSONRPCMessage,
        reason: `tools/call arguments ${why}`,
        isResult: true,
      };
    }
  }
  return invalid(id, why);
}

/**
 * The shape check of a message the SDK will see: a request the SDK would not recognise as one gets
 * -32600 with its id instead of no answer at all. A request's params are the SDK's business (its v2
 * schemas answer -32602); responses and notifications pass (the SDK drops malformed ones with a log).
 */
export function screenShape(m: Record<string, unknown>): Refusal | undefined {
  const id = readableId(m);
  if (m["jsonrpc"] !== "2.0") return invalid(id ?? null, 'jsonrpc must be "2.0"');
  if ("method" in m) {
    if (typeof m["method"] !== "string") return invalid(id ?? null, "method must be a string");
    const idField = m["id"];
    if (idField !== undefined && idField !== null && id === undefined)
      return invalid(null, "id must be a string or a number");
    if (id === undefined) return undefined; // a notification
    const params = m["params"];
    if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params)))
      return invalid(id, "params must be an object");
    if (!isJSONRPCRequest(m)) {
      // A well-formed request whose params the SDK's schema refuses (e.g. `_meta` not an object): the
      // params are at fault, -32602 as for every other malformed params (docs/adr/0005-error-mapping.md).
      const { params: _params, ...bare } = m;
      if (params !== undefined && isJSONRPCRequest(bare)) {
        const why = "Invalid params: the request's params do not match the MCP schema";
        return { reply: errorAnswer(id, -32602, why), reason: why };
      }
      return invalid(id, "not a valid request");
    }
    return undefined;
  }
  if ("result" in m || "error" in m) return undefined;
  return invalid(id, "neither a request, a notification nor a response");
}

/**
 * screenShape for an HTTP body, a batch included: each member is screened as a message of its own. A
 * batch with a refused member is not handed to the SDK at all (it would refuse the whole batch as one
 * parse error, with no id): every refused member gets its own answer, and every other request of the
 * batch an error saying it was not processed, so nothing is run half and nothing goes unanswered.
 */
export function screenMessages(body: unknown): Refusal | undefined {
  if (!Array.isArray(body))
    return typeof body === "object" && body !== null
      ? screenShape(body as Record<string, unknown>)
      : undefined;
  const refusals = body.map((m: unknown) =>
    isObject(m) ? screenShape(m) : invalid(null, "a batch member must be a JSON object"),
  );
  const first = refusals.find((r) => r !== undefined);
  if (first === undefined) return undefined;
  const replies: JSONRPCMessage[] = [];
  body.forEach((m: unknown, i) => {
    const refused = refusals[i];
    if (refused) {
      if (refused.reply && !Array.isArray(refused.reply)) replies.push(refused.reply);
      return;
    }
    const id = readableId(m);
    if (id !== undefined && typeof m === "object" && m !== null && "method" in m)
      replies.push(
        errorAnswer(id, -32600, "Invalid Request: not processed: another message of its batch was refused"),
      );
  });
  return { reply: replies, reason: `a batch member was refused: ${first.reason}` };
}
