import { Ajv } from "ajv";
import { formatPath } from "../config/problems.js";
import { errorMessage } from "../errors.js";
import { compileCondition, conditionRefs, type CompiledCondition } from "./condition.js";
import { ancestorsOf, dependencyIds, findCycles, topologicalLevels } from "./graph.js";
import type { OnError, WorkflowDefinition } from "./schema.js";
import { compileValue, refsOf, type CompiledValue, type ProblemSink, type TemplateRef } from "./template.js";

export interface CompiledCompensation {
  readonly tool: string;
  readonly args: CompiledValue;
  readonly timeoutMs: number;
}

export interface CompiledStep {
  readonly id: string;
  /** Position in the definition (for messages and the default output). */
  readonly index: number;
  readonly tool: string;
  readonly args: CompiledValue;
  readonly when?: CompiledCondition | undefined;
  readonly forEach?: CompiledValue | undefined;
  readonly forEachConcurrency: number;
  readonly onError: OnError;
  readonly timeoutMs?: number | undefined;
  readonly compensate?: CompiledCompensation | undefined;
  /** Direct dependencies (dependsOn + referenced steps), known ids only. */
  readonly deps: readonly string[];
}

export type InputCheck =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** A workflow checked and pre-parsed at load; running it parses nothing. */
export interface CompiledWorkflow {
  readonly name: string;
  readonly description: string;
  /** The JSON Schema advertised as the tool's inputSchema. */
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly steps: readonly CompiledStep[];
  /** Topological layers of step ids: each layer only depends on earlier ones. */
  readonly levels: readonly (readonly string[])[];
  readonly output?: CompiledValue | undefined;
  readonly maxConcurrency: number;
  readonly timeoutMs?: number | undefined;
  /** Validates arguments against `inputSchema`, returning a copy with schema defaults filled in. */
  readonly checkInput: (input: unknown) => InputCheck;
}

type RefSite = { ref: TemplateRef; path: string };
type WorkflowCheck = CompiledWorkflow["checkInput"];

/**
 * One Ajv for every workflow input schema: an Ajv instance costs ~15 ms of start-up (meta-schemas), and
 * workflows are re-validated on every catalog refresh. Ajv holds no per-call state.
 */
let sharedAjv: Ajv | undefined;
function inputAjv(): Ajv {
  sharedAjv ??= new Ajv({
    strict: false,
    logger: false,
    useDefaults: true,
    allErrors: true,
    validateFormats: false,
  });
  return sharedAjv;
}

function compileInputSchema(
  schema: Record<string, unknown>,
  path: string,
  problem: ProblemSink,
  lazy: boolean,
): WorkflowCheck {
  if (schema["type"] !== "object") problem(path, 'input schema must have "type": "object"');
  if (lazy) {
    // Compiled on the first call: Ajv's meta-schema and the code generation (~50 ms) stay off start-up.
    let check: WorkflowCheck | undefined;
    return (input) => (check ??= compileInputSchema(schema, path, () => undefined, false))(input);
  }
  const { $schema: _ignored, ...rest } = schema;
  const ajv = inputAjv();
  try {
    const validate = ajv.compile(rest);
    return (input) => {
      const value = structuredClone(input ?? {});
      return validate(value)
        ? { ok: true, value }
        : { ok: false, error: ajv.errorsText(validate.errors, { dataVar: "input" }) };
    };
  } catch (err) {
    problem(path, `invalid JSON Schema: ${errorMessage(err)}`);
    return () => ({ ok: false, error: "the workflow's input schema is invalid" });
  }
}

export interface CompileOptions {
  /**
   * Compile the input JSON Schema on the workflow's first call instead of now. Only for definitions whose
   * schema is known to compile (the shipped workflows, checked by their tests): a schema error would
   * otherwise surface on the first call instead of as a load-time problem.
   */
  readonly lazyInputSchema?: boolean;
}

/** Compiles one schema-checked workflow, reporting every problem found in it (tools are checked by validate). */
export function compileWorkflow(
  name: string,
  def: WorkflowDefinition,
  problem: ProblemSink,
  options: CompileOptions = {},
): CompiledWorkflow {
  const base = formatPath(["workflows", name]);
  const checkInput = compileInputSchema(
    def.input,
    `${base}.input`,
    problem,
    options.lazyInputSchema === true,
  );
  const properties = def.input["properties"];
  const inputNames = properties !== null && typeof properties === "object" ? Object.keys(properties) : [];
  const ids = new Map<string, number>();
  def.steps.forEach((s, i) => {
    const first = ids.get(s.id);
    if (first !== undefined)
      problem(`${base}.steps[${i}].id`, `duplicate step id "${s.id}" (also steps[${first}])`);
    else ids.set(s.id, i);
  });

  const compiled = def.steps.map((s, i) => {
    const at = `${base}.steps[${i}]`;
    const args = compileValue(s.args, `${at}.args`, problem);
    const when = s.when === undefined ? undefined : compileCondition(s.when, `${at}.when`, problem);
    const forEach = s.forEach === undefined ? undefined : compileValue(s.forEach, `${at}.forEach`, problem);
    const compensate = s.compensate && {
      tool: s.compensate.tool,
      args: compileValue(s.compensate.args, `${at}.compensate.args`, problem),
      timeoutMs: s.compensate.timeoutMs,
    };
    const argRefs = refsOf(args, `${at}.args`);
    const guardRefs = [
      ...(when ? conditionRefs(when, `${at}.when`) : []),
      ...(forEach ? refsOf(forEach, `${at}.forEach`) : []),
    ];
    const compRefs = compensate ? refsOf(compensate.args, `${at}.compensate.args`) : [];
    // {{item}} / {{index}} exist only while a forEach step runs its items (args) or undoes them (compensate).
    for (const r of forEach ? guardRefs : [...argRefs, ...guardRefs, ...compRefs]) checkLoopVar(r, problem);
    for (const r of [...argRefs, ...guardRefs, ...compRefs]) checkRef(r, ids, inputNames, problem);
    s.dependsOn.forEach((d, j) => {
      if (!ids.has(d)) problem(`${at}.dependsOn[${j}]`, `unknown step "${d}"`);
    });
    const refs = [...argRefs, ...guardRefs].map((r) => r.ref);
    const deps = dependencyIds(refs, s.dependsOn).filter((d) => ids.has(d));
    const step: CompiledStep = {
      id: s.id,
      index: i,
      tool: s.tool,
      args,
      when,
      forEach,
      forEachConcurrency: s.forEachConcurrency,
      onError: s.onError,
      timeoutMs: s.timeoutMs,
      compensate,
      deps,
    };
    return { step, compRefs };
  });

  const steps = compiled.map((c) => c.step);
  const nodes = steps.map((s) => ({ id: s.id, deps: s.deps }));
  for (const { path } of findCycles(nodes)) {
    problem(
      `${base}.steps[${ids.get(path[0] ?? "") ?? 0}]`,
      `dependency cycle ${path.map((c) => `"${c}"`).join(" -> ")}`,
    );
  }
  const ancestors = ancestorsOf(nodes);
  for (const { step, compRefs } of compiled) {
    for (const { ref, path } of compRefs) {
      if (ref.root !== "steps" || ref.step === step.id || !ids.has(ref.step ?? "")) continue;
      if (!ancestors.get(step.id)?.has(ref.step ?? "")) {
        problem(
          path,
          `compensate references step "${ref.step}" in ${ref.source}, which is not "${step.id}" or one of its dependencies (it may not have run)`,
        );
      }
    }
  }

  let output: CompiledValue | undefined;
  if (def.output !== undefined) {
    output = compileValue(def.output, `${base}.output`, problem);
    for (const r of refsOf(output, `${base}.output`)) {
      checkLoopVar(r, problem);
      checkRef(r, ids, inputNames, problem);
    }
  }

  return {
    name,
    description: def.description ?? `Workflow: ${def.steps.map((s) => s.tool).join(" → ")}`,
    inputSchema: def.input,
    steps,
    levels: topologicalLevels(nodes),
    output,
    maxConcurrency: def.maxConcurrency,
    timeoutMs: def.timeoutMs,
    checkInput,
  };
}

function checkLoopVar({ ref, path }: RefSite, problem: ProblemSink): void {
  if (ref.root === "item" || ref.root === "index") {
    problem(
      path,
      `${ref.source}: ${ref.root} is only available in the args and compensate of a forEach step`,
    );
  }
}

function checkRef(
  { ref, path }: RefSite,
  ids: ReadonlyMap<string, number>,
  inputNames: readonly string[],
  problem: ProblemSink,
): void {
  if (ref.root === "steps" && !ids.has(ref.step ?? "")) {
    problem(path, `unknown step "${ref.step}" in ${ref.source}`);
  } else if (ref.root === "input" && ref.path.length > 0) {
    const first = ref.path[0];
    if (typeof first !== "string" || !inputNames.includes(first)) {
      const known = inputNames.length > 0 ? inputNames.join(", ") : "none";
      problem(
        path,
        `unknown input property "${String(first)}" in ${ref.source} (input.properties: ${known})`,
      );
    }
  }
}
