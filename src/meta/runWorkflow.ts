import { errorResult } from "../front/errorMap.js";
import type { WorkflowHost } from "../workflows/register.js";
import type { MetaTool } from "./types.js";

/**
 * `run_workflow`: the model passes an ad-hoc workflow definition (the same format as `workflows` in
 * servers.config.json) and its input. It is validated exactly like a configured one; `dryRun: true`
 * returns the execution plan without calling anything.
 */
export function runWorkflowTool(host: WorkflowHost): MetaTool {
  return {
    definition: {
      name: "run_workflow",
      title: "Run an ad-hoc workflow",
      description:
        "Run a composite workflow that chains tool calls across servers. `workflow` has the same format as a configured workflow: {description?, input (JSON Schema), steps: [{id, tool, args, when?, forEach?, dependsOn?, onError?, compensate?, timeoutMs?}], output?}; templates like {{input.x}} and {{steps.<id>.result.path}} pass data between steps. Set dryRun to get the plan (parallel levels, resolved tools, read-only/destructive hints) without calling anything.",
      inputSchema: {
        type: "object",
        properties: {
          workflow: { type: "object", description: "The workflow definition." },
          input: { type: "object", description: "The workflow's input, checked against workflow.input." },
          dryRun: { type: "boolean", description: "Return the execution plan only.", default: false },
        },
        required: ["workflow"],
      },
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    },
    call: async (args, origin, requestId) => {
      const { workflow, input, dryRun } = args as { workflow?: unknown; input?: unknown; dryRun?: unknown };
      const definition = {
        description: "Ad-hoc workflow",
        input: { type: "object" },
        ...(workflow as object),
      };
      const { workflow: compiled, problems } = host.compileAdHoc("run_workflow", definition);
      if (!compiled) {
        return errorResult(
          `run_workflow: the workflow is invalid:\n${problems.map((p) => p.replace(/^workflows\.run_workflow\.?/, "workflow.")).join("\n")}`,
        );
      }
      if (dryRun === true) return host.plan(compiled);
      return host.execute(compiled, input ?? {}, origin, requestId);
    },
  };
}
