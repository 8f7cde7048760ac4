import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Aggregator, WorkflowHostLike } from "../aggregator.js";
import type { MetaTool } from "../meta/types.js";
import type { BuiltinTool } from "../catalog/catalog.js";
import type { LoadedConfig } from "../config/load.js";
import type { CallOrigin } from "../front/backend.js";
import { toolErrorToResult } from "../front/errorMap.js";
import type { Logger } from "../logger.js";
import type { CompiledWorkflow } from "./compile.js";
import { planResult, planWorkflow, workflowHints, type ToolLookup } from "./plan.js";
import type { CallBudget, WorkflowLimits } from "./limits.js";
import type { StepTrace } from "./state.js";
import { DEFAULT_WORKFLOW_LIMITS, runWorkflow } from "./runner.js";
import { validateWorkflows } from "./validate.js";
import { runWorkflowTool } from "../meta/runWorkflow.js";
import { BUILTIN_FALLBACKS, BUILTIN_HELPERS, BUILTIN_REQUIRES, BUILTIN_WORKFLOWS } from "./builtins/index.js";

/** Watches workflow runs (the dashboard): one watch per run, told of each step and of the result. */
export interface WorkflowObserver {
  started(name: string, origin: CallOrigin): WorkflowRunWatch;
}

export interface WorkflowRunWatch {
  step(trace: StepTrace): void;
  finished(result: CallToolResult): void;
}

/**
 * Serves the configured workflows as tools. They are validated against the live catalog once the
 * servers are connected (a step naming a tool of a skipped server makes its workflow invalid: it is
 * reported and not served; the others are).
 */
export class WorkflowHost implements WorkflowHostLike {
  private compiled = new Map<string, CompiledWorkflow>();
  /** The workflows served as tools, as of the last refresh. */
  tools: readonly BuiltinTool[] = [];
  /** Definitions of every workflow in the last refresh (shipped + configured): ad-hoc ones may call them. */
  private served: Readonly<Record<string, unknown>> = {};
  problems: string[] = [];
  /** Told of every run, configured or ad hoc (set by the dashboard). */
  observer: WorkflowObserver | undefined;

  constructor(
    private readonly agg: Aggregator,
    private definitions: Readonly<Record<string, unknown>>,
    private readonly log: Logger,
    private readonly builtins: Readonly<Record<string, unknown>> | undefined = BUILTIN_WORKFLOWS,
    private readonly limits: WorkflowLimits = DEFAULT_WORKFLOW_LIMITS,
    /** Which variant of a shipped workflow fits which server (the shipped set only). */
    private readonly variants: {
      readonly requires: Readonly<Record<string, string>>;
      readonly fallbacks: typeof BUILTIN_FALLBACKS;
    } = builtins === BUILTIN_WORKFLOWS
      ? { requires: BUILTIN_REQUIRES, fallbacks: BUILTIN_FALLBACKS }
      : { requires: {}, fallbacks: {} },
  ) {}

  /** Re-validates against the current catalog and republishes the workflow tools. */
  refresh(): void {
    const catalog = this.agg.catalog();
    const knownTool = (name: string): boolean => {
      const t = catalog.resolveTool(name);
      return t !== undefined && t.kind !== "workflow";
    };
    const lazyInputSchema = this.isShipped;
    // Shipped workflows whose servers are not configured are left out without a warning.
    const fitting = this.builtins ? this.fittingShipped(knownTool) : {};
    const valid = validateWorkflows(fitting, { knownTool, lazyInputSchema }).ok;
    const validNames = new Set(valid.map((wf) => wf.name));
    const shipped = valid.filter((wf) => {
      const parent = BUILTIN_HELPERS[wf.name];
      return parent === undefined || validNames.has(parent) || parent in this.definitions;
    });
    const shippedDefs = Object.fromEntries(
      shipped.filter((wf) => !(wf.name in this.definitions)).map((wf) => [wf.name, fitting[wf.name]]),
    );
    const all = { ...shippedDefs, ...this.definitions };
    this.served = all;
    if (Object.keys(all).length === 0) return;
    const result = validateWorkflows(all, { knownTool, lazyInputSchema });
    const newProblems = result.problems.filter((p) => !this.problems.includes(p));
    for (const p of newProblems) this.log.warn({ problem: p }, "workflow not served");
    this.problems = result.problems;
    this.compiled = new Map(result.ok.map((wf) => [wf.name, wf]));
    this.tools = result.ok.map((wf) => this.toolOf(wf));
  }

  /**
   * Each shipped workflow in the variant that fits the catalog: its own when its BUILTIN_REQUIRES tool is
   * there and its tools are known, else its fallback (the archived GitHub server's variant) when that one's
   * `requires` tool is there.
   */
  private fittingShipped(knownTool: (name: string) => boolean): Record<string, unknown> {
    const builtins = this.builtins ?? {};
    const own = Object.fromEntries(
      Object.entries(builtins).filter(([name]) => {
        const requires = this.variants.requires[name];
        return requires === undefined || knownTool(requires);
      }),
    );
    const fits = new Set(
      validateWorkflows(own, { knownTool, lazyInputSchema: this.isShipped }).ok.map((wf) => wf.name),
    );
    const chosen: Record<string, unknown> = {};
    for (const name of Object.keys(builtins)) {
      const fallback = this.variants.fallbacks[name];
      if (fits.has(name)) chosen[name] = builtins[name];
      else if (fallback && knownTool(fallback.requires)) chosen[name] = fallback.definition;
    }
    return chosen;
  }

  /** A shipped definition, unchanged: its input schema is compiled on first call (its tests compile it). */
  private readonly isShipped = (name: string, definition: unknown): boolean =>
    this.builtins !== undefined &&
    (this.builtins[name] === definition || this.variants.fallbacks[name]?.definition === definition);

  /**
   * Shape checks and compilation of every definition now, while the servers are still starting: they do
   * not depend on the catalog and are kept (compileOne), so the refresh after the servers connect, which
   * the first tools/list waits for, only checks tool names. Problems are reported by that refresh.
   */
  precompile(): void {
    const all = { ...this.builtins, ...this.definitions };
    validateWorkflows(all, { knownTool: () => true, lazyInputSchema: this.isShipped });
    const fallbacks = Object.entries(this.variants.fallbacks).map(([n, f]) => [n, f.definition] as const);
    validateWorkflows(Object.fromEntries(fallbacks), {
      knownTool: () => true,
      lazyInputSchema: this.isShipped,
    });
  }

  /** Hot reload: new definitions from the config file (validated on the next refresh). */
  setDefinitions(definitions: Readonly<Record<string, unknown>>): void {
    this.definitions = definitions;
  }

  get workflows(): ReadonlyMap<string, CompiledWorkflow> {
    return this.compiled;
  }

  /** Route info for plans and hints: what the catalog says about a public tool name. */
  readonly lookup: ToolLookup = (tool) => {
    const t = this.agg.catalog().resolveTool(tool);
    if (!t || t.kind !== "downstream") {
      if (t?.kind === "meta")
        return {
          server: "(aggregator)",
          originalName: t.name,
          readOnly: t.definition.annotations?.readOnlyHint === true,
          destructive: false,
        };
      return undefined;
    }
    const h = t.route.policy.hints;
    return {
      server: t.route.server,
      originalName: t.route.originalName,
      readOnly: h.readOnly,
      destructive: h.destructive,
    };
  };

  private toolOf(wf: CompiledWorkflow): BuiltinTool {
    const hints = workflowHints(wf, this.lookup, this.compiled);
    return {
      kind: "workflow",
      definition: {
        name: wf.name,
        description: wf.description,
        inputSchema: wf.inputSchema as { type: "object" },
        annotations: {
          readOnlyHint: hints.readOnlyHint,
          destructiveHint: hints.destructiveHint,
          openWorldHint: true,
        },
      },
    };
  }

  async run(
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    requestId?: string,
  ): Promise<CallToolResult> {
    const wf = this.compiled.get(name);
    if (!wf) return toolErrorToResult(new Error(`workflow ${name} is not available`), name);
    return this.execute(wf, args, origin, requestId);
  }

  /** Runs a compiled workflow; every step goes through the router and pipeline like a client's call. */
  async execute(
    wf: CompiledWorkflow,
    input: unknown,
    origin: CallOrigin,
    requestId?: string,
  ): Promise<CallToolResult> {
    const budget = origin.workflowBudget ?? { used: 0, max: this.limits.maxCallsPerRun };
    const watch = this.observer?.started(wf.name, origin);
    const result = await this.runOnce(wf, input, origin, budget, watch, requestId);
    watch?.finished(result);
    return result;
  }

  private async runOnce(
    wf: CompiledWorkflow,
    input: unknown,
    origin: CallOrigin,
    budget: CallBudget,
    watch: WorkflowRunWatch | undefined,
    requestId: string | undefined,
  ): Promise<CallToolResult> {
    try {
      return await runWorkflow(wf, input, {
        limits: this.limits,
        budget,
        signal: origin.signal,
        requestId,
        log: this.log.child(
          requestId === undefined ? { workflow: wf.name } : { workflow: wf.name, reqId: requestId },
        ),
        onProgress: origin.sendProgress
          ? (p) => origin.sendProgress?.(p.progress, p.total, p.message)
          : undefined,
        stepSpan: (step) => this.agg.telemetry.step(origin.trace, wf.name, step.id, step.tool),
        onStep: watch && ((t) => watch.step(t)),
        invoker: {
          call: (tool, stepArgs, opts) =>
            this.agg.router.callTool(tool, stepArgs, {
              ...origin,
              trace: opts.trace ?? origin.trace,
              signal: opts.signal,
              progressToken: undefined,
              sendProgress: undefined,
              meta: undefined,
              workflowBudget: budget,
            }),
        },
      });
    } catch (error) {
      return toolErrorToResult(error, wf.name);
    }
  }

  /** Validates an ad-hoc definition exactly like a configured one (run_workflow). */
  compileAdHoc(name: string, definition: unknown): { workflow?: CompiledWorkflow; problems: string[] } {
    const catalog = this.agg.catalog();
    const defs: Record<string, unknown> = { ...this.served, [name]: definition };
    const result = validateWorkflows(defs, {
      knownTool: (tool) => {
        const t = catalog.resolveTool(tool);
        return t !== undefined && t.kind !== "workflow";
      },
      lazyInputSchema: this.isShipped,
    });
    const own = result.problems.filter((p) => p.startsWith(`workflows.${name}`));
    const workflow = result.ok.find((w) => w.name === name);
    return { ...(workflow && own.length === 0 ? { workflow } : {}), problems: own };
  }

  plan(wf: CompiledWorkflow): CallToolResult {
    return planResult(planWorkflow(wf, this.lookup, this.compiled));
  }
}

/**
 * The configured and shipped workflows of an aggregator being built (src/compose.ts): the host (validated
 * against the catalog after the servers connect) and its `run_workflow` meta-tool.
 */
export function createWorkflows(
  agg: Aggregator,
  loaded: LoadedConfig,
  log: Logger,
): { host: WorkflowHost; tool: MetaTool } {
  const host = new WorkflowHost(
    agg,
    loaded.config.workflows as Record<string, unknown>,
    log,
    loaded.config.builtinWorkflows ? BUILTIN_WORKFLOWS : undefined,
    loaded.config.workflowLimits,
  );
  host.precompile();
  return { host, tool: runWorkflowTool(host) };
}

/** Structure-only validation for `autonomous-mcp validate` (tool names are checked when serving). */
export function validateWorkflowDefinitions(workflows: LoadedConfig["config"]["workflows"]): {
  count: number;
  problems: string[];
} {
  const defs = workflows as Record<string, unknown>;
  const result = validateWorkflows(defs, { knownTool: () => true });
  return { count: Object.keys(defs).length, problems: result.problems };
}
