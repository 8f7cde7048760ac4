import type * as z from "zod";

/**
 * Turns zod issues into the one-line problems of CONFIG_INVALID, e.g.
 * `mcpServers.github.args[1]: expected string, got number` (the caller prefixes the source name).
 * JSON syntax errors and duplicate keys: jsonc.ts.
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
