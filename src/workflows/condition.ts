import { isDeepStrictEqual } from "node:util";
import { AggregatorError } from "../errors.js";
import type { Condition } from "./schema.js";
import {
  compileValue,
  lookupRef,
  refsOf,
  resolveValue,
  type CompiledValue,
  type ProblemSink,
  type TemplateRef,
  type TemplateScope,
} from "./template.js";

type Comparison = "equals" | "notEquals" | "gt" | "gte" | "lt" | "lte" | "in";

/** A `when` condition pre-parsed at load. */
export type CompiledCondition =
  | { readonly op: "truthy"; readonly value: CompiledValue }
  | { readonly op: Comparison; readonly a: CompiledValue; readonly b: CompiledValue }
  | { readonly op: "exists"; readonly value: CompiledValue }
  | { readonly op: "not"; readonly cond: CompiledCondition }
  | { readonly op: "and" | "or"; readonly conds: readonly CompiledCondition[] };

const COMPARISONS: readonly Comparison[] = ["equals", "notEquals", "gt", "gte", "lt", "lte", "in"];

/** Compiles a schema-checked condition; malformed templates go to `problem` with their JSON path. */
export function compileCondition(cond: Condition, path: string, problem: ProblemSink): CompiledCondition {
  if (typeof cond === "string" || typeof cond === "boolean") {
    return { op: "truthy", value: compileValue(cond, path, problem) };
  }
  if ("not" in cond) return { op: "not", cond: compileCondition(cond.not, `${path}.not`, problem) };
  if ("and" in cond) {
    return { op: "and", conds: cond.and.map((c, i) => compileCondition(c, `${path}.and[${i}]`, problem)) };
  }
  if ("or" in cond) {
    return { op: "or", conds: cond.or.map((c, i) => compileCondition(c, `${path}.or[${i}]`, problem)) };
  }
  if ("exists" in cond) return { op: "exists", value: compileValue(cond.exists, `${path}.exists`, problem) };
  for (const op of COMPARISONS) {
    if (op in cond) {
      const [a, b] = (cond as Record<Comparison, [unknown, unknown]>)[op];
      return {
        op,
        a: compileValue(a, `${path}.${op}[0]`, problem),
        b: compileValue(b, `${path}.${op}[1]`, problem),
      };
    }
  }
  problem(path, "unknown condition operator");
  return { op: "truthy", value: { kind: "literal", value: false } };
}

/** Every template reference in a condition, with its JSON path. */
export function conditionRefs(cond: CompiledCondition, path: string): { ref: TemplateRef; path: string }[] {
  switch (cond.op) {
    case "truthy":
    case "exists":
      return refsOf(cond.value, cond.op === "exists" ? `${path}.exists` : path);
    case "not":
      return conditionRefs(cond.cond, `${path}.not`);
    case "and":
    case "or":
      return cond.conds.flatMap((c, i) => conditionRefs(c, `${path}.${cond.op}[${i}]`));
    default:
      return [...refsOf(cond.a, `${path}.${cond.op}[0]`), ...refsOf(cond.b, `${path}.${cond.op}[1]`)];
  }
}

/** false, null, 0, NaN, "", [] and {} are false; everything else is true. */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

function conditionError(message: string): AggregatorError {
  return new AggregatorError("TEMPLATE_ERROR", `condition: ${message}`);
}

function compare(op: "gt" | "gte" | "lt" | "lte", a: unknown, b: unknown): boolean {
  const comparable =
    (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
  if (!comparable) {
    throw conditionError(
      `${op} needs two numbers or two strings, got ${JSON.stringify(a)} and ${JSON.stringify(b)}`,
    );
  }
  const [x, y] = [a, b] as [number, number];
  return op === "gt" ? x > y : op === "gte" ? x >= y : op === "lt" ? x < y : x <= y;
}

function contains(item: unknown, haystack: unknown): boolean {
  if (Array.isArray(haystack)) return haystack.some((h) => isDeepStrictEqual(h, item));
  if (typeof haystack === "string" && typeof item === "string") return haystack.includes(item);
  throw conditionError(
    `in needs [item, array] or [substring, string], got ${JSON.stringify(haystack)} as the second`,
  );
}

/**
 * Evaluates a condition. Throws TEMPLATE_ERROR when a template does not resolve (use `exists` to test for a
 * path) or when operand types do not fit the operator.
 */
export function evaluateCondition(cond: CompiledCondition, scope: TemplateScope): boolean {
  switch (cond.op) {
    case "truthy":
      return truthy(resolveValue(cond.value, scope));
    case "exists": {
      if (cond.value.kind === "ref") {
        const r = lookupRef(cond.value.ref, scope);
        return r.found && r.value !== null && r.value !== undefined;
      }
      return resolveValue(cond.value, scope) !== null;
    }
    case "not":
      return !evaluateCondition(cond.cond, scope);
    case "and":
      return cond.conds.every((c) => evaluateCondition(c, scope));
    case "or":
      return cond.conds.some((c) => evaluateCondition(c, scope));
    default: {
      const a = resolveValue(cond.a, scope);
      const b = resolveValue(cond.b, scope);
      if (cond.op === "equals") return isDeepStrictEqual(a, b);
      if (cond.op === "notEquals") return !isDeepStrictEqual(a, b);
      if (cond.op === "in") return contains(a, b);
      return compare(cond.op, a, b);
    }
  }
}
