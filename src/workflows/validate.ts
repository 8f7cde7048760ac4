import { formatPath, issueLines } from "../config/problems.js";
import { compileWorkflow, type CompiledWorkflow } from "./compile.js";
import { findCycles } from "./graph.js";
import { workflowSchema } from "./schema.js";

export interface ValidateOptions {
  /** True when `name` is a catalog tool. Workflow names are recognised without it. */
  readonly knownTool: (name: string) => boolean;
  /** Definitions whose input schema may be compiled on first call (see CompileOptions). */
  readonly lazyInputSchema?: (name: string, definition: unknown) => boolean;
}

export interface ValidationResult {
  /** Workflows without problems (and not calling a workflow that has some), in definition order. */
  readonly ok: CompiledWorkflow[];
  /** Every problem found, each `workflows.<name>.<json path>: <message>`. */
  readonly problems: string[];
}

interface ToolUse {
  readonly tool: string;
  readonly path: string;
}

function toolUses(wf: CompiledWorkflow): ToolUse[] {
  return wf.steps.flatMap((s) => {
    const at = formatPath(["workflows", wf.name, "steps", s.index]);
    const uses = [{ tool: s.tool, path: `${at}.tool` }];
    if (s.compensate) uses.push({ tool: s.compensate.tool, path: `${at}.compensate.tool` });
    return uses;
  });
}

interface CompiledOne {
  readonly workflow?: CompiledWorkflow;
  readonly problems: readonly string[];
}

/**
 * Shape check and compilation of one definition, which depend on nothing but the definition: a frozen one
 * (the config's, the shipped ones) is compiled once, not again on every catalog refresh or ad-hoc run.
 */
const compiledOnce = new WeakMap<object, Map<string, CompiledOne>>();

function compileOne(name: string, raw: unknown, lazyInputSchema: boolean): CompiledOne {
  const cacheable = raw !== null && typeof raw === "object" && Object.isFrozen(raw);
  const key = `${lazyInputSchema ? "lazy" : "eager"}\u0000${name}`;
  const hit = cacheable ? compiledOnce.get(raw)?.get(key) : undefined;
  if (hit) return hit;
  const problems: string[] = [];
  let result: CompiledOne;
  const parsed = workflowSchema.safeParse(raw);
  if (!parsed.success) {
    // Same wording as the rest of the config's problems (config/problems.ts).
    for (const issue of parsed.error.issues)
      problems.push(...issueLines({ ...issue, path: ["workflows", name, ...issue.path] }));
    result = { problems };
  } else {
    const workflow = compileWorkflow(
      name,
      parsed.data,
      (path, message) => problems.push(`${path}: ${message}`),
      {
        lazyInputSchema,
      },
    );
    result = { workflow, problems };
  }
  if (cacheable) {
    let byName = compiledOnce.get(raw);
    if (!byName) compiledOnce.set(raw, (byName = new Map()));
    byName.set(key, result);
  }
  return result;
}

/**
 * Load-time validation of the `workflows` config section. Lists every problem at once: shape errors (strict
 * schema), malformed templates, unknown steps and input properties, dependency cycles, invalid input JSON
 * Schema, unknown tools, and cycles between workflows. A workflow that calls an invalid one is invalid too.
 */
export function validateWorkflows(defs: unknown, options: ValidateOptions): ValidationResult {
  if (defs === undefined || defs === null) return { ok: [], problems: [] };
  if (typeof defs !== "object" || Array.isArray(defs)) {
    return { ok: [], problems: ["workflows: expected an object mapping tool names to workflow definitions"] };
  }
  const names = Object.keys(defs);
  const problems = new Map<string, string[]>(names.map((n) => [n, []]));
  const add = (name: string, line: string): void => void problems.get(name)?.push(line);
  const compiled = new Map<string, CompiledWorkflow>();

  for (const [name, raw] of Object.entries(defs as Record<string, unknown>)) {
    if (name.length === 0) add(name, 'workflows[""]: a workflow name must not be empty');
    const own = compileOne(name, raw, options.lazyInputSchema?.(name, raw) === true);
    for (const line of own.problems) add(name, line);
    if (own.workflow) compiled.set(name, own.workflow);
  }

  const isWorkflow = (tool: string): boolean => problems.has(tool);
  const calls = new Map<string, ToolUse[]>();
  for (const wf of compiled.values()) {
    const uses = toolUses(wf);
    for (const u of uses) {
      if (!isWorkflow(u.tool) && !options.knownTool(u.tool))
        add(wf.name, `${u.path}: unknown tool "${u.tool}"`);
    }
    calls.set(
      wf.name,
      uses.filter((u) => isWorkflow(u.tool)),
    );
  }

  const nodes = [...calls].map(([id, uses]) => ({ id, deps: uses.map((u) => u.tool) }));
  for (const { members, path } of findCycles(nodes)) {
    const shown = path.map((p) => `"${p}"`).join(" -> ");
    for (const member of members) {
      const use = calls.get(member)?.find((u) => members.includes(u.tool));
      add(member, `${use?.path ?? formatPath(["workflows", member])}: workflow cycle ${shown}`);
    }
  }

  // A workflow calling an invalid workflow cannot run either; propagate until nothing changes.
  const invalid = (name: string): boolean => (problems.get(name)?.length ?? 0) > 0;
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, uses] of calls) {
      if (invalid(name)) continue;
      const bad = uses.find((u) => invalid(u.tool));
      if (bad) {
        add(name, `${bad.path}: workflow "${bad.tool}" is invalid (see its problems)`);
        changed = true;
      }
    }
  }

  return {
    ok: [...compiled.values()].filter((wf) => !invalid(wf.name)),
    problems: names.flatMap((n) => problems.get(n) ?? []),
  };
}
