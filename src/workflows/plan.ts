import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CompiledWorkflow } from "./compile.js";
import type { OnError } from "./schema.js";

/** What the catalog knows about a downstream tool. */
export interface RouteInfo {
  readonly server: string;
  readonly originalName: string;
  readonly readOnly: boolean;
  readonly destructive: boolean;
}

export type ToolLookup = (tool: string) => RouteInfo | undefined;

/** Where a step's tool goes: a downstream route, another workflow, or nothing known (catalog changed). */
export type PlannedTarget =
  | ({ readonly kind: "tool" } & RouteInfo)
  | { readonly kind: "workflow"; readonly name: string }
  | { readonly kind: "unknown" };

export interface PlannedStep {
  readonly id: string;
  readonly tool: string;
  readonly level: number;
  readonly dependsOn: readonly string[];
  readonly target: PlannedTarget;
  readonly when: boolean;
  readonly forEach: boolean;
  readonly onError: OnError;
  readonly timeoutMs?: number | undefined;
  readonly compensate?: { readonly tool: string; readonly target: PlannedTarget } | undefined;
}

/** The dry-run answer: what would run, in which parallel layers, against which servers. Nothing is called. */
export interface WorkflowPlan {
  readonly workflow: string;
  /** Topological layers of step ids; a layer's steps may run in parallel. */
  readonly levels: readonly (readonly string[])[];
  readonly steps: readonly PlannedStep[];
  readonly maxConcurrency: number;
  readonly timeoutMs?: number | undefined;
  readonly hints: WorkflowHints;
}

export interface WorkflowHints {
  /** True only when every step and compensation, through sub-workflows, is read-only. */
  readonly readOnlyHint: boolean;
  /** True when any step or compensation, through sub-workflows, is destructive (unknown tools count). */
  readonly destructiveHint: boolean;
}

type Workflows = ReadonlyMap<string, CompiledWorkflow>;

function targetOf(tool: string, lookup: ToolLookup, workflows: Workflows): PlannedTarget {
  if (workflows.has(tool)) return { kind: "workflow", name: tool };
  const route = lookup(tool);
  return route ? { kind: "tool", ...route } : { kind: "unknown" };
}

/** Builds the execution plan. `workflows` lets steps that call other workflows be recognised as such. */
export function planWorkflow(
  wf: CompiledWorkflow,
  lookup: ToolLookup,
  workflows: Workflows = new Map(),
): WorkflowPlan {
  const levelOf = new Map(wf.levels.flatMap((ids, level) => ids.map((id) => [id, level] as const)));
  return {
    workflow: wf.name,
    levels: wf.levels,
    steps: wf.steps.map((s) => ({
      id: s.id,
      tool: s.tool,
      level: levelOf.get(s.id) ?? -1,
      dependsOn: s.deps,
      target: targetOf(s.tool, lookup, workflows),
      when: s.when !== undefined,
      forEach: s.forEach !== undefined,
      onError: s.onError,
      timeoutMs: s.timeoutMs,
      compensate: s.compensate && {
        tool: s.compensate.tool,
        target: targetOf(s.compensate.tool, lookup, workflows),
      },
    })),
    maxConcurrency: wf.maxConcurrency,
    timeoutMs: wf.timeoutMs,
    hints: workflowHints(wf, lookup, workflows),
  };
}

/** Tool annotations for a workflow, from its steps' and compensations' hints (recursively; cycle-safe). */
export function workflowHints(
  wf: CompiledWorkflow,
  lookup: ToolLookup,
  workflows: Workflows = new Map(),
): WorkflowHints {
  let readOnly = true;
  let destructive = false;
  const seen = new Set<string>([wf.name]);
  const todo: CompiledWorkflow[] = [wf];
  while (todo.length > 0) {
    const current = todo.pop();
    for (const s of current?.steps ?? []) {
      for (const tool of s.compensate ? [s.tool, s.compensate.tool] : [s.tool]) {
        const sub = workflows.get(tool);
        if (sub) {
          if (!seen.has(tool)) todo.push(sub);
          seen.add(tool);
          continue;
        }
        const route = lookup(tool);
        readOnly &&= route?.readOnly === true;
        destructive ||= route === undefined || route.destructive;
      }
    }
  }
  return { readOnlyHint: readOnly, destructiveHint: destructive };
}

/** The plan as a tool result (text summary + structuredContent), for a dry-run call. */
export function planResult(plan: WorkflowPlan): CallToolResult {
  const where = (t: PlannedTarget): string =>
    t.kind === "tool"
      ? `${t.server}/${t.originalName}`
      : t.kind === "workflow"
        ? `workflow ${t.name}`
        : "unknown tool";
  const lines = [`Dry run of ${plan.workflow}: ${plan.steps.length} steps in ${plan.levels.length} levels`];
  plan.levels.forEach((ids, i) => {
    lines.push(`Level ${i}:`);
    for (const s of plan.steps.filter((p) => ids.includes(p.id))) {
      const flags = [
        s.when ? "when" : "",
        s.forEach ? "forEach" : "",
        s.compensate ? `compensate: ${s.compensate.tool}` : "",
      ];
      const extra = flags.filter((f) => f !== "").join(", ");
      lines.push(`- ${s.id}: ${s.tool} -> ${where(s.target)}${extra ? ` (${extra})` : ""}`);
    }
  });
  return { content: [{ type: "text", text: lines.join("\n") }], structuredContent: { plan: { ...plan } } };
}
