import { RE2JS } from "re2js";
import type { Options } from "ajv";

type RegExpEngine = NonNullable<NonNullable<Options["code"]>["regExp"]>;

/**
 * Bounds on the downstream inputSchemas we compile. A server's schema is untrusted input: its `pattern`
 * and `patternProperties` run here on every call, and its size decides how long ajv's compile blocks
 * the event loop (about 0.1 ms per property on a loaded 2-core machine: 40,000 properties ≈ 4–8 s).
 */

/** Counts the objects and arrays in a schema, iteratively; stops counting once over `budget`. */
export function schemaNodes(schema: unknown, budget: number): number {
  let count = 0;
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (++count > budget) return count;
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (typeof child !== "object" || child === null) continue;
      // Every node still stacked will be counted: stop as soon as the total is known to be over.
      if (count + stack.push(child) > budget) return count + stack.length;
    }
  }
  return count;
}

/** A pattern RE2 cannot run (lookaround, backreferences): told once per pattern, then not checked. */
export type UnsupportedPattern = (pattern: string, reason: string) => void;

/**
 * ajv's `code.regExp` engine on re2js: linear time in the input whatever the pattern (`^(a+)+$` on a
 * long input is microseconds instead of seconds). JavaScript-only syntax RE2 lacks makes the keyword
 * pass (and is reported), rather than failing the whole schema.
 */
export function re2Engine(onUnsupported: UnsupportedPattern): RegExpEngine {
  // ajv caches compiled patterns by their toString(): each must name its own pattern.
  const engine = (pattern: string): { test(s: string): boolean; toString(): string } => {
    const toString = (): string => `/${pattern}/re2`;
    try {
      const re = RE2JS.compile(pattern);
      return { test: (s: string) => re.test(s), toString };
    } catch (error) {
      onUnsupported(pattern, error instanceof Error ? error.message : String(error));
      return { test: () => true, toString };
    }
  };
  // Only used by ajv's standalone code generation, which we do not use.
  return Object.assign(engine, { code: "re2" }) as RegExpEngine;
}

/**
 * The check an over-budget schema gets instead of ajv: the arguments are an object and carry the
 * schema's top-level `required` keys. Undefined when they pass, else the violation text.
 */
export function structuralViolation(
  schema: Readonly<Record<string, unknown>>,
  args: unknown,
): string | undefined {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return "(root): must be object";
  const required = schema["required"];
  if (!Array.isArray(required)) return undefined;
  const missing = required.filter((k) => typeof k === "string" && !Object.hasOwn(args, k));
  if (missing.length === 0) return undefined;
  return missing
    .slice(0, 20)
    .map((k) => `(root): must have required property '${String(k)}'`)
    .join("; ");
}
