/**
 * Depth bounds for JSON from peers (clients and downstream servers). V8's JSON.parse copes with any
 * depth, but JSON.stringify, zod, ajv and our own walkers recurse: a message nested a few thousand
 * levels deep overflows the stack wherever it is walked next. Every message from a peer is measured
 * here once, without recursion, before anything else walks it.
 *
 * Depth: a scalar is 0, `{}` and `[]` are 1, `{"a":[1]}` is 2.
 */

/** Default of `maxJsonDepth` (config/defaults.ts holds the same value). */
export const DEFAULT_MAX_JSON_DEPTH = 512;

/**
 * True when `value` nests objects/arrays deeper than `limit`. Iterative (no recursion), stops at the
 * first path that is too deep; visits each object or array once otherwise.
 */
export function tooDeep(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const node = values.pop() as object;
    const depth = depths.pop() as number;
    if (depth > limit) return true;
    if (Array.isArray(node)) {
      for (const child of node as unknown[])
        if (typeof child === "object" && child !== null) {
          values.push(child);
          depths.push(depth + 1);
        }
    } else {
      for (const key in node) {
        const child = (node as Record<string, unknown>)[key];
        if (typeof child === "object" && child !== null) {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/**
 * Whether a JSON text of `length` characters may nest deeper than `limit`: each level costs at least
 * two characters (its opening and closing bracket), so shorter texts need no walk at all.
 */
export function textMayBeTooDeep(length: number, limit: number): boolean {
  return length > 2 * limit;
}

/** `tooDeep`, skipped when the text the value was parsed from is too short to nest that deep. */
export function parsedTooDeep(value: unknown, textLength: number, limit: number): boolean {
  return textMayBeTooDeep(textLength, limit) && tooDeep(value, limit);
}

/** A JSON-RPC id we can answer to (string or number), else undefined. */
export function readableId(message: unknown): string | number | undefined {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return undefined;
  const id = (message as { id?: unknown }).id;
  if (typeof id === "string") return id;
  if (typeof id === "number" && Number.isFinite(id)) return id;
  return undefined;
}

/** The error text of an over-deep message. */
export function depthMessage(limit: number): string {
  return `nested deeper than ${limit} levels (maxJsonDepth)`;
}
