import type * as z from "zod";

/**
 * Turns zod issues and JSON syntax errors into the one-line problems of CONFIG_INVALID, e.g.
 * `mcpServers.github.args[1]: expected string, got number` (the caller prefixes the source name).
 */

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** `mcpServers.github.args[1]`; keys that are not plain words are quoted: `mcpServers["a.b"]`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z0-9_$-]+$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The JSON type of a parsed value: string, number, boolean, null, array or object. */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = { int: "integer", record: "object", map: "object" };

function short(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** zod's own messages start like this; anything else was written in the schema and is kept as is. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too small|Too big|Unrecognized|Expected)/;

function bound(issue: {
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: boolean;
  origin?: string;
}): string {
  const small = issue.minimum !== undefined;
  const limit = String(small ? issue.minimum : issue.maximum);
  const op = small ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
  if (issue.origin === "string")
    return small && limit === "1" ? "must not be empty" : `length must be ${op} ${limit}`;
  if (issue.origin === "array" || issue.origin === "set") return `must have ${op} ${limit} items`;
  return `must be ${op} ${limit}`;
}

function describeIssue(issue: Issue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      if (input === undefined) return `required (expected ${expected})`;
      if (issue.expected === "int" && typeof input === "number")
        return `expected integer, got number ${input}`;
      return `expected ${expected}, got ${jsonType(input)}`;
    }
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => short(v)).join(" | ")}, got ${short(input)}`;
    case "too_small":
    case "too_big": {
      if (!ZOD_DEFAULT_MESSAGE.test(issue.message)) return issue.message;
      const got = typeof input === "number" ? `, got ${input}` : "";
      return `${bound(issue as Parameters<typeof bound>[0])}${got}`;
    }
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    case "invalid_key": {
      const inner = issue.issues[0];
      return inner ? lowerFirst(inner.message) : "invalid key";
    }
    default:
      return lowerFirst(issue.message);
  }
}

/** One line per problem, without the source-name prefix. unrecognized_keys yields one line per key. */
export function issueLines(issue: Issue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
  }
  const where = formatPath(issue.path);
  const what = describeIssue(issue);
  return [where === "" ? what : `${where}: ${what}`];
}

// ---- JSON syntax errors ----

function offsetOf(message: string): number | undefined {
  const m = /at position (\d+)/.exec(message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** True when `prefix` is a valid start of a JSON text (it parses, or fails only because it ends early). */
function validSoFar(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    if (/end of JSON input|Unterminated string/.test(message)) return true;
    const at = offsetOf(message);
    return at !== undefined && at >= prefix.length;
  }
}

/** Offset of the first offending character (Node 20 omits it for "Unexpected token" errors). */
function errorOffset(text: string, message: string): number {
  const given = offsetOf(message);
  if (given !== undefined) return given;
  if (validSoFar(text)) return text.length;
  let lo = 0; // invariant: text.slice(0, lo) is valid so far, text.slice(0, hi) is not
  let hi = text.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (validSoFar(text.slice(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before[before.length - 1] ?? "").length + 1 };
}

/** `invalid JSON at line 3, column 5: expected double-quoted property name`. Never echoes file content. */
export function jsonSyntaxLine(text: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const lc = /\(line (\d+) column (\d+)\)/.exec(raw);
  const { line, column } = lc
    ? { line: Number(lc[1]), column: Number(lc[2]) }
    : lineColumn(text, errorOffset(text, raw));
  const reason = raw
    .replace(/\s*\(line \d+ column \d+\)/, "")
    .replace(/ in JSON at position \d+/, "")
    .replace(/^(Unexpected token '.+?'),.*is not valid JSON$/s, "$1")
    .replace(/^Unexpected end of JSON input$/, "unexpected end of input");
  return `invalid JSON at line ${line}, column ${column}: ${lowerFirst(reason)}`;
}
