/**
 * The shape of a tools/call request's params, decided once for every front (issue #15): the stdio fast
 * path, the HTTP fast path, the message screen in front of the SDK transport and the SDK handler all
 * call this, so a malformed call gets the same answer whichever way it came in. A refusal is a JSON-RPC
 * -32602 (Invalid params) error (docs/adr/0005-error-mapping.md): the request itself is malformed, before
 * any tool or schema is involved. Arguments that are an object but violate the tool's inputSchema are
 * the pipeline's business (an isError "Invalid arguments" result).
 */
export interface ToolCallParams {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly meta: Record<string, unknown> | undefined;
}

/** Why the params were refused: the text of the -32602 error. */
export interface ParamsRefusal {
  readonly refused: string;
}

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A progress token as MCP defines it (the SDK's ProgressTokenSchema): a string or an integer. */
export function validProgressToken(token: unknown): boolean {
  return typeof token === "string" || Number.isSafeInteger(token);
}

export function readToolCallParams(params: unknown): ToolCallParams | ParamsRefusal {
  if (!isObject(params))
    return { refused: `Invalid params: tools/call needs params as an object, got ${kind(params)}` };
  const name = params["name"];
  if (typeof name !== "string")
    return { refused: `Invalid params: tools/call needs a string name, got ${kind(name)}` };
  const args = params["arguments"];
  if (args !== undefined && !isObject(args))
    return {
      refused: `Invalid params: arguments of ${name.slice(0, 200)} must be an object, got ${kind(args)}`,
    };
  const meta = params["_meta"];
  if (meta !== undefined) {
    if (!isObject(meta)) return { refused: `Invalid params: _meta must be an object, got ${kind(meta)}` };
    const token = meta["progressToken"];
    if (token !== undefined && !validProgressToken(token))
      return {
        refused: `Invalid params: _meta.progressToken must be a string or an integer, got ${
          typeof token === "number" ? "a number that is not an integer" : kind(token)
        }`,
      };
  }
  return { name, args: args ?? {}, meta };
}
