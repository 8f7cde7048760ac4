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

/** True when `name` is prefix + separator + original exactly as written: nothing replaced, nothing cut. */
export function isExact(prefix: string, original: string, rules: NameRules, name: string): boolean {
  return name === (prefix === "" ? original : `${prefix}${rules.separator}${original}`);
}

export interface NameCandidate<T> {
  readonly wanted: string;
  /** Identity used for the disambiguating hash and the last tie-break, e.g. "server\0tool". */
  readonly identity: string;
  /** Built-in names (meta-tools, workflows) win collisions. */
  readonly builtin?: boolean;
  /** `wanted` is the name as written (isExact): it beats a name that only became `wanted` by sanitising. */
  readonly exact?: boolean;
  /** Length of the server prefix inside `wanted` (0 unprefixed): the longer, exact namespace wins. */
  readonly prefixLength?: number;
  /** The server's position in the config file: on an otherwise equal claim the earlier one wins. */
  readonly order?: number;
  readonly item: T;
}

export interface AssignedName<T> {
  readonly name: string;
  readonly item: T;
  /** Set when the wanted name was taken: the candidate that kept it. */
  readonly collidedWith?: T;
}

/**
 * Which of two candidates for the same name keeps it (negative: `a`). Depends only on the two candidates,
 * never on which other servers exist: built-in first; then the name valid as written over one that became
 * it by sanitising or cutting; then the longer server prefix (`a_b` + `echo` over `a` + `b_echo`: the
 * name reads as that server's); then the server listed first in the config; then the identity.
 */
function claim<T>(a: NameCandidate<T>, b: NameCandidate<T>): number {
  return (
    Number(b.builtin ?? false) - Number(a.builtin ?? false) ||
    Number(b.exact ?? false) - Number(a.exact ?? false) ||
    (b.prefixLength ?? 0) - (a.prefixLength ?? 0) ||
    (a.order ?? 0) - (b.order ?? 0) ||
    compare(a.identity, b.identity)
  );
}

/**
 * Gives every candidate a unique name. For each wanted name the candidate with the best claim keeps it
 * (see `claim`); every other one gets `<wanted>_<hash of its identity>`, a name that depends only on its
 * own server and tool. Plain names are given out first, so a suffixed name never takes a name some tool
 * wants as written (a clash there adds `#n` to the hashed identity). The result is sorted by name.
 */
export function assignNames<T>(
  candidates: readonly NameCandidate<T>[],
  maxLength: number,
): AssignedName<T>[] {
  const best = new Map<string, NameCandidate<T>>();
  for (const c of candidates) {
    const held = best.get(c.wanted);
    if (held === undefined || claim(c, held) < 0) best.set(c.wanted, c);
  }
  const taken = new Set(best.keys());
  const out: AssignedName<T>[] = [...best.values()].map((c) => ({ name: c.wanted, item: c.item }));
  const losers = candidates
    .filter((c) => best.get(c.wanted) !== c)
    .sort((a, b) => compare(a.identity, b.identity));
  for (const c of losers) {
    let name = withSuffix(c.wanted, c.identity, maxLength);
    for (let n = 1; taken.has(name); n++) name = withSuffix(c.wanted, `${c.identity}#${n}`, maxLength);
    taken.add(name);
    out.push({ name, item: c.item, collidedWith: (best.get(c.wanted) as NameCandidate<T>).item });
  }
  return out.sort((a, b) => compare(a.name, b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
