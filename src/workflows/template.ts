import { AggregatorError } from "../errors.js";

/** One path segment after the root: `.key` (string) or `[n]` (number). */
export type Segment = string | number;

/** A parsed `{{...}}` reference. For `steps`, `path` starts after `steps.<id>.result`. */
export interface TemplateRef {
  readonly root: "input" | "steps" | "item" | "index";
  /** Step id (root `steps` only). */
  readonly step?: string;
  readonly path: readonly Segment[];
  /** The template as written, braces included, for messages. */
  readonly source: string;
}

/** A config value pre-parsed once at load; resolving it walks this tree without re-parsing strings. */
export type CompiledValue =
  | { readonly kind: "literal"; readonly value: unknown }
  | { readonly kind: "ref"; readonly ref: TemplateRef }
  | { readonly kind: "interp"; readonly parts: readonly (string | TemplateRef)[] }
  | { readonly kind: "array"; readonly items: readonly CompiledValue[] }
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, CompiledValue])[] };

/** What templates resolve against. A step id absent from `results` has no result (not run, skipped or failed). */
export interface TemplateScope {
  readonly input: unknown;
  readonly results: ReadonlyMap<string, unknown>;
  readonly item?: unknown;
  readonly index?: number;
  /** Ids of steps that did not produce a result, with their status, for better messages. */
  readonly statusOf?: (id: string) => string | undefined;
  /** Output shaping only: a step without a result resolves (with any path below it) to null. */
  readonly missingStepsAreNull?: boolean;
}

export type ProblemSink = (path: string, message: string) => void;

const EXPR = /^(input|steps|item|index)((?:\.[^.[\]\s{}]+|\[\d+\])*)$/;
const SEGMENT = /\.([^.[\]\s{}]+)|\[(\d+)\]/g;

function parseExpr(raw: string): TemplateRef | string {
  const source = `{{${raw}}}`;
  const expr = raw.trim();
  const m = EXPR.exec(expr);
  if (!m) {
    return `invalid template ${source}: expected input, steps.<id>.result, item or index followed by .key or [n] segments`;
  }
  const root = m[1] as TemplateRef["root"];
  const path: Segment[] = [];
  for (const s of (m[2] ?? "").matchAll(SEGMENT)) path.push(s[1] !== undefined ? s[1] : Number(s[2]));
  if (root === "index" && path.length > 0) return `invalid template ${source}: index has no properties`;
  if (root !== "steps") return { root, path, source };
  const [step, result, ...rest] = path;
  if (typeof step !== "string" || result !== "result") {
    return `invalid template ${source}: expected steps.<id>.result`;
  }
  return { root, step, path: rest, source };
}

/** Splits a string into literal text and references; returns a message instead when it is malformed. */
function parseString(text: string): (string | TemplateRef)[] | string {
  const parts: (string | TemplateRef)[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    if (open < 0) break;
    const close = text.indexOf("}}", open + 2);
    if (close < 0) return `unclosed "{{" at character ${open} in ${JSON.stringify(text)}`;
    if (open > pos) parts.push(text.slice(pos, open));
    const ref = parseExpr(text.slice(open + 2, close));
    if (typeof ref === "string") return ref;
    parts.push(ref);
    pos = close + 2;
  }
  if (pos < text.length) parts.push(text.slice(pos));
  return parts;
}

/**
 * Pre-parses every string in `value`. Malformed templates are reported to `problem` with their JSON path
 * and compile to a literal, so one pass lists them all.
 */
export function compileValue(value: unknown, path: string, problem: ProblemSink): CompiledValue {
  if (typeof value === "string") {
    const parts = parseString(value);
    if (typeof parts === "string") {
      problem(path, parts);
      return { kind: "literal", value };
    }
    if (parts.every((p) => typeof p === "string")) return { kind: "literal", value };
    const [only] = parts;
    if (parts.length === 1 && only !== undefined && typeof only !== "string")
      return { kind: "ref", ref: only };
    return { kind: "interp", parts };
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, `${path}[${i}]`, problem));
    return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(
      ([k, v]) => [k, compileValue(v, `${path}.${k}`, problem)] as const,
    );
    return entries.every(([, c]) => c.kind === "literal")
      ? { kind: "literal", value }
      : { kind: "object", entries };
  }
  return { kind: "literal", value };
}

/** Every reference in a compiled value, with the JSON path of the string that holds it. */
export function refsOf(value: CompiledValue, path: string): { ref: TemplateRef; path: string }[] {
  switch (value.kind) {
    case "literal":
      return [];
    case "ref":
      return [{ ref: value.ref, path }];
    case "interp":
      return value.parts.filter((p) => typeof p !== "string").map((ref) => ({ ref, path }));
    case "array":
      return value.items.flatMap((v, i) => refsOf(v, `${path}[${i}]`));
    case "object":
      return value.entries.flatMap(([k, v]) => refsOf(v, `${path}.${k}`));
  }
}

function fail(ref: TemplateRef, message: string): AggregatorError {
  return new AggregatorError("TEMPLATE_ERROR", `cannot resolve ${ref.source}: ${message}`, {
    details: { template: ref.source },
  });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  return Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

type Lookup = { found: true; value: unknown } | { found: false; error: AggregatorError };

/** Resolves one reference; never throws (the `exists` operator needs the "not found" answer). */
export function lookupRef(ref: TemplateRef, scope: TemplateScope): Lookup {
  let value: unknown;
  let where: string;
  if (ref.root === "steps") {
    const id = ref.step ?? "";
    if (!scope.results.has(id)) {
      if (scope.missingStepsAreNull) return { found: true, value: null };
      const status = scope.statusOf?.(id);
      const why = status ? `step "${id}" has no result (status ${status})` : `step "${id}" has no result yet`;
      return { found: false, error: fail(ref, why) };
    }
    value = scope.results.get(id);
    where = `steps.${id}.result`;
  } else if (ref.root === "item" || ref.root === "index") {
    if (scope.index === undefined)
      return { found: false, error: fail(ref, `${ref.root} is only set inside forEach`) };
    value = ref.root === "item" ? scope.item : scope.index;
    where = ref.root;
  } else {
    value = scope.input;
    where = "input";
  }
  for (const seg of ref.path) {
    const next = step(value, seg);
    if (!next.found) {
      const shown = typeof seg === "number" ? `[${seg}]` : `"${seg}"`;
      return { found: false, error: fail(ref, `no ${shown} in ${where} (it is ${describe(value)})`) };
    }
    value = next.value;
    where += typeof seg === "number" ? `[${seg}]` : `.${seg}`;
  }
  return { found: true, value };
}

function step(value: unknown, seg: Segment): { found: boolean; value?: unknown } {
  if (Array.isArray(value)) {
    if (typeof seg === "number")
      return seg < value.length ? { found: true, value: value[seg] } : { found: false };
    return seg === "length" ? { found: true, value: value.length } : { found: false };
  }
  if (typeof seg === "string" && value !== null && typeof value === "object" && Object.hasOwn(value, seg)) {
    return { found: true, value: (value as Record<string, unknown>)[seg] };
  }
  return { found: false };
}

function resolveRef(ref: TemplateRef, scope: TemplateScope): unknown {
  const r = lookupRef(ref, scope);
  if (!r.found) throw r.error;
  return r.value;
}

/** Text form used when a reference sits inside a longer string: strings as-is, everything else as JSON. */
export function interpolated(v: unknown): string {
  return typeof v === "string" ? v : (JSON.stringify(v) ?? "null");
}

/** Resolves a compiled value. Throws AggregatorError TEMPLATE_ERROR naming the template and the missing segment. */
export function resolveValue(value: CompiledValue, scope: TemplateScope): unknown {
  switch (value.kind) {
    case "literal":
      // Config objects are shared and may be frozen; callees get their own copy.
      return typeof value.value === "object" && value.value !== null
        ? structuredClone(value.value)
        : value.value;
    case "ref":
      return resolveRef(value.ref, scope);
    case "interp":
      return value.parts
        .map((p) => (typeof p === "string" ? p : interpolated(resolveRef(p, scope))))
        .join("");
    case "array":
      return value.items.map((v) => resolveValue(v, scope));
    case "object":
      return Object.fromEntries(value.entries.map(([k, v]) => [k, resolveValue(v, scope)]));
  }
}

/** Convenience for tests and one-off use: compile then resolve; throws on a malformed template. */
export function renderTemplate(value: unknown, scope: TemplateScope): unknown {
  const problems: string[] = [];
  const compiled = compileValue(value, "value", (p, m) => problems.push(`${p}: ${m}`));
  if (problems.length > 0) throw new AggregatorError("TEMPLATE_ERROR", problems.join("; "));
  return resolveValue(compiled, scope);
}
