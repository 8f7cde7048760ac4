import type * as z from "zod";
import type { Shadowed } from "./jsonc.js";
import { lintConfig } from "./lint.js";
import { formatPath, issueLines } from "./problems.js";
import { configSchema, type Config } from "./schema.js";
import { isObject as isRecord } from "../jsonrpc/isObject.js";

/**
 * Every check on a parsed config file in one pass — the schema and the lint (lint.ts) — on the file as
 * parsed and on each value a duplicate key replaced, so a user sees all problems and all warnings in one
 * round (a duplicate key used to hide the problems of the entry it shadowed). Lines are without the
 * source-name prefix.
 */

export interface Checked {
  /** The validated file with defaults applied, when the schema accepts it. */
  readonly config?: Config;
  /** Schema problems, then lint errors. */
  readonly problems: string[];
  readonly warnings: string[];
}

const SERVER_MAPS = ["mcpServers", "servers"] as const;

/** An unknown key somewhere inside a server entry: a warning, not an error. */
function isServerUnknownKey(issue: z.core.$ZodIssue): boolean {
  return (
    issue.code === "unrecognized_keys" &&
    issue.path.length >= 2 &&
    SERVER_MAPS.some((m) => m === issue.path[0])
  );
}

function dropKeys(root: unknown, issue: z.core.$ZodIssue & { keys?: string[] }): void {
  let node = root;
  for (const key of issue.path) node = isRecord(node) ? node[key as string] : undefined;
  if (isRecord(node)) for (const key of issue.keys ?? []) delete node[key];
}

/** The schema's verdict: unknown keys inside server entries are warnings (and dropped), the rest problems. */
function validate(raw: unknown): { config?: Config; problems: string[]; warnings: string[] } {
  const first = configSchema.safeParse(raw, { reportInput: true });
  if (first.success) return { config: first.data, problems: [], warnings: [] };
  const unknown = first.error.issues.filter(isServerUnknownKey);
  const warnings = unknown.flatMap(issueLines).map((line) => `${line} (ignored)`);
  let issues = first.error.issues;
  if (unknown.length > 0) {
    const cleaned = structuredClone(raw);
    for (const issue of unknown) dropKeys(cleaned, issue);
    const second = configSchema.safeParse(cleaned, { reportInput: true });
    if (second.success) return { config: second.data, problems: [], warnings };
    issues = second.error.issues;
  }
  return { problems: issues.flatMap(issueLines), warnings };
}

/** A copy of `root` with `value` at `path`; undefined if the path's parent is not there. */
function withValueAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root);
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) {
    node =
      isRecord(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined;
  }
  const last = path[path.length - 1];
  if (last === undefined || !(isRecord(node) || Array.isArray(node))) return undefined;
  // defineProperty: a "__proto__" key is data, as in the parser.
  Object.defineProperty(node, last, { value, writable: true, enumerable: true, configurable: true });
  return copy;
}

function schemaAndLint(raw: unknown): Checked {
  const lint = lintConfig(raw);
  const checked = validate(raw);
  return {
    ...(checked.config === undefined ? {} : { config: checked.config }),
    problems: [...checked.problems, ...lint.errors],
    warnings: [...lint.warnings, ...checked.warnings],
  };
}

export function checkConfig(raw: unknown, shadowed: readonly Shadowed[] = []): Checked {
  const main = schemaAndLint(raw);
  const problems = new Set(main.problems);
  const warnings = new Set(main.warnings);
  for (const s of shadowed) {
    const tree = withValueAt(raw, s.path, s.value);
    if (tree === undefined) continue;
    const other = schemaAndLint(tree);
    // Found only with the earlier value in place: say which one.
    const where = ` (in the first ${formatPath(s.path)}, ${s.at})`;
    for (const p of other.problems) if (!problems.has(p)) problems.add(`${p}${where}`);
    for (const w of other.warnings) if (!warnings.has(w)) warnings.add(`${w}${where}`);
  }
  return {
    ...(main.config === undefined ? {} : { config: main.config }),
    problems: [...problems],
    warnings: [...warnings],
  };
}
