import os from "node:os";
import { formatPath } from "./problems.js";
import type { ServerEntry } from "./schema.js";

/**
 * `${VAR}` and `${VAR:-default}` expansion. VAR is `[A-Za-z_][A-Za-z0-9_]*`; the default is plain text
 * (possibly empty, no `}` and no nested `${`). VS Code/Cursor's `${env:VAR}` is read as `${VAR}` (the
 * loader warns: lint.ts). Anything else, `$$` included, is left as written.
 * A variable that is set but empty counts as unset (like the shell's `:-`).
 */

export type EnvSource = Readonly<Record<string, string | undefined>>;

/** The server-entry fields that are expanded; no other field is. */
export const EXPANDED_FIELDS = ["command", "args", "env", "cwd", "url", "headers"] as const;

export type ExpandableFields = Pick<ServerEntry, (typeof EXPANDED_FIELDS)[number]>;

const REFERENCE = /\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The value of `name`, or undefined when unset or empty. HOME falls back to os.homedir() (Windows). */
export function lookupEnv(env: EnvSource, name: string): string | undefined {
  const value = env[name];
  if (value !== undefined && value !== "") return value;
  if (name === "HOME") return os.homedir() || undefined;
  return undefined;
}

export interface StringExpansion {
  readonly value: string;
  /** Variables referenced without a default and unset (in order of appearance, no duplicates). */
  readonly unresolved: readonly string[];
  /** A default contained `${` (nested references are not supported). */
  readonly nestedDefault: boolean;
}

/** Expands one string. Unresolved references become "" and are reported, never thrown. */
export function expandString(input: string, env: EnvSource = process.env): StringExpansion {
  const unresolved: string[] = [];
  let nestedDefault = false;
  const value = input.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    if (fallback?.includes("${")) nestedDefault = true;
    const found = lookupEnv(env, name);
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    if (!unresolved.includes(name)) unresolved.push(name);
    return "";
  });
  return { value, unresolved, nestedDefault };
}

export interface EntryExpansion {
  readonly fields: ExpandableFields;
  /** Unresolved variable names across all expanded fields, first appearance first. */
  readonly unresolved: readonly string[];
  /** The fields ("url", "env", ...) that contain an unresolved reference. */
  readonly unresolvedIn: ReadonlySet<string>;
  /** Problem lines (path relative to `at`), e.g. `mcpServers.x.env.A: nested ${...} in a default is not supported`. */
  readonly problems: readonly string[];
}

/** Expands command, args[], env values, cwd, url and headers values of one entry. */
export function expandEntry(
  entry: ExpandableFields,
  env: EnvSource,
  at: readonly PropertyKey[],
): EntryExpansion {
  const unresolved: string[] = [];
  const unresolvedIn = new Set<string>();
  const problems: string[] = [];
  const one = (input: string, path: readonly PropertyKey[]): string => {
    const result = expandString(input, env);
    for (const name of result.unresolved) if (!unresolved.includes(name)) unresolved.push(name);
    if (result.unresolved.length > 0) unresolvedIn.add(String(path[0]));
    if (result.nestedDefault)
      problems.push(`${formatPath([...at, ...path])}: nested \${...} in a default is not supported`);
    return result.value;
  };
  const map = (record: Readonly<Record<string, string>>, field: string): Record<string, string> =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, one(v, [field, k])]));
  const fields: ExpandableFields = {
    ...(entry.command === undefined ? {} : { command: one(entry.command, ["command"]) }),
    args: entry.args.map((arg, i) => one(arg, ["args", i])),
    env: map(entry.env, "env"),
    ...(entry.cwd === undefined ? {} : { cwd: one(entry.cwd, ["cwd"]) }),
    ...(entry.url === undefined ? {} : { url: one(entry.url, ["url"]) }),
    headers: map(entry.headers, "headers"),
  };
  return { fields, unresolved, unresolvedIn, problems };
}
