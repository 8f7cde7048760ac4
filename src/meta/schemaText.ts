/**
 * An input schema as compact JSON for search_tools' text content (clients that read only `content`
 * see it too), bounded per hit: the whole schema when it fits, else a shortened one (parameter names,
 * types, enums and short descriptions), else a cut one; each non-whole form says so.
 */

export const SCHEMA_TEXT_CHARS = 1_500;
const MAX_DEPTH = 64;
const SHORT_DESCRIPTION = 80;
const SHORT_ENUM = 10;

/** Compact JSON of `value` up to `max` characters (nesting bounded); `complete` false when cut. */
export function boundedJson(value: unknown, max: number): { json: string; complete: boolean } {
  let out = "";
  const walk = (v: unknown, depth: number): boolean => {
    if (out.length > max) return false;
    if (depth > MAX_DEPTH) {
      out += '"…"';
      return false;
    }
    if (v === null || typeof v !== "object") {
      const s = JSON.stringify(v) as string | undefined;
      out += s ?? "null";
      return out.length <= max;
    }
    if (Array.isArray(v)) {
      out += "[";
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ",";
        if (!walk(v[i], depth + 1)) return false;
      }
      out += "]";
      return out.length <= max;
    }
    out += "{";
    let first = true;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined || typeof x === "function") continue;
      out += `${first ? "" : ","}${JSON.stringify(k)}:`;
      first = false;
      if (!walk(x, depth + 1)) return false;
    }
    out += "}";
    return out.length <= max;
  };
  const complete = walk(value, 0);
  return complete ? { json: out, complete } : { json: out.slice(0, max), complete };
}

/** Top-level parameters only: type, enum (first few), a short description; `required` kept. */
function shortened(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema["properties"];
  const out: Record<string, unknown> = { type: schema["type"] ?? "object" };
  if (Array.isArray(schema["required"])) out["required"] = schema["required"];
  if (props === null || typeof props !== "object" || Array.isArray(props)) return out;
  const short: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(props as Record<string, unknown>)) {
    const p = (value ?? {}) as Record<string, unknown>;
    const entry: Record<string, unknown> = {};
    if (p["type"] !== undefined) entry["type"] = p["type"];
    if (Array.isArray(p["enum"])) entry["enum"] = p["enum"].slice(0, SHORT_ENUM);
    if (typeof p["description"] === "string")
      entry["description"] =
        p["description"].length > SHORT_DESCRIPTION
          ? `${p["description"].slice(0, SHORT_DESCRIPTION - 3)}...`
          : p["description"];
    short[name] = entry;
  }
  out["properties"] = short;
  return out;
}

/** One line: `input: <json>`, or a shortened / cut schema with a note saying so. */
export function schemaLine(schema: Record<string, unknown>, max = SCHEMA_TEXT_CHARS): string {
  const whole = boundedJson(schema, max);
  if (whole.complete) return `input: ${whole.json}`;
  const short = boundedJson(shortened(schema), max);
  const where = "the full schema is in structuredContent.results[].inputSchema";
  if (short.complete)
    return `input (shortened to parameter names, types and short descriptions; ${where}): ${short.json}`;
  return `input (cut at ${max} characters; ${where}): ${short.json}…`;
}
