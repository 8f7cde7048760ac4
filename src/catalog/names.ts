import { createHash } from "node:crypto";

/** What MCP clients accept for a tool or prompt name. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const BAD_CHARS = /[^a-zA-Z0-9_-]/g;
const HASH_LENGTH = 6;

export interface NameRules {
  readonly separator: string;
  readonly maxLength: number;
}

/** Replaces every character a client would reject with "_". */
export function sanitize(name: string): string {
  const clean = name.replace(BAD_CHARS, "_");
  return clean.length > 0 ? clean : "_";
}

/** A short, stable hash of a string (hex). */
export function shortHash(text: string, length = HASH_LENGTH): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * prefix + separator + original, made valid: bad characters replaced, and a name over the budget cut
 * and given a hash of its full identity so two long names never shorten to the same result.
 * Depends only on (prefix, original): adding or removing another server never changes it.
 */
export function publicName(prefix: string, original: string, rules: NameRules): string {
  const joined =
    prefix === "" ? sanitize(original) : `${sanitize(prefix)}${rules.separator}${sanitize(original)}`;
  if (joined.length <= rules.maxLength) return joined;
  return withSuffix(joined, `${prefix}\u0000${original}`, rules.maxLength);
}

/** `base` cut so that `_<hash>` fits within maxLength. */
export function withSuffix(base: string, identity: string, maxLength: number): string {
  const suffix = `_${shortHash(identity)}`;
  return base.slice(0, Math.max(1, maxLength - suffix.length)) + suffix;
}

export interface NameCandidate<T> {
  readonly wanted: string;
  /** Identity used for deterministic ordering and the disambiguating hash, e.g. "server\0tool". */
  readonly identity: string;
  /** Built-in names (meta-tools, workflows) win collisions. */
  readonly builtin?: boolean;
  readonly item: T;
}

export interface AssignedName<T> {
  readonly name: string;
  readonly item: T;
  /** Set when the wanted name was taken and this one was renamed. */
  readonly collidedWith?: string;
}

/**
 * Gives every candidate a unique name. On a collision the built-in wins, else the smallest identity;
 * the others get `<wanted>_<hash of identity>`. The result is sorted by name (deterministic lists).
 */
export function assignNames<T>(
  candidates: readonly NameCandidate<T>[],
  maxLength: number,
): AssignedName<T>[] {
  const ordered = [...candidates].sort(
    (a, b) => Number(b.builtin ?? false) - Number(a.builtin ?? false) || compare(a.identity, b.identity),
  );
  const taken = new Map<string, string>();
  const out: AssignedName<T>[] = [];
  for (const c of ordered) {
    const owner = taken.get(c.wanted);
    if (owner === undefined) {
      taken.set(c.wanted, c.identity);
      out.push({ name: c.wanted, item: c.item });
      continue;
    }
    let name = withSuffix(c.wanted, c.identity, maxLength);
    for (let n = 1; taken.has(name); n++) name = withSuffix(c.wanted, `${c.identity}#${n}`, maxLength);
    taken.set(name, c.identity);
    out.push({ name, item: c.item, collidedWith: owner });
  }
  return out.sort((a, b) => compare(a.name, b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
