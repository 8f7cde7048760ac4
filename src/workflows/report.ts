import type { CallToolResult } from "@modelcontextprotocol/server";
import type { StepTrace, WorkflowStatus } from "./state.js";

/** structuredContent of a workflow result. */
export interface WorkflowOutcome {
  readonly status: WorkflowStatus;
  readonly output: unknown;
  /** One entry per step, in definition order. */
  readonly trace: readonly StepTrace[];
  /** The failure that ended the workflow (a step id, "output" or "workflow" for the workflow timeout). */
  readonly failed?: { readonly step: string; readonly error: string };
  /** Steps whose compensation ran successfully, in the order they were undone. */
  readonly compensated?: readonly string[];
}

function stepLine(t: StepTrace): string {
  const head = `- ${t.id} (${t.tool}): ${t.status}`;
  const facts: string[] = [`${t.durationMs} ms`];
  if (t.attempts > 1) facts.push(`${t.attempts} calls`);
  if (t.items !== undefined) facts.push(`${t.items} items`);
  let line = t.status === "skipped" ? `${head}: ${t.reason ?? ""}` : `${head}, ${facts.join(", ")}`;
  if (t.error !== undefined) line += `: ${t.error}`;
  if (t.compensationError !== undefined) line += ` [compensation failed: ${t.compensationError}]`;
  return line;
}

/** Human summary: status line, one line per step, what failed and what was undone, then the output as JSON. */
export function summaryText(name: string, outcome: WorkflowOutcome): string {
  const lines = [`Workflow ${name}: ${outcome.status}`, ...outcome.trace.map(stepLine)];
  if (outcome.failed) lines.push(`Failed at ${outcome.failed.step}: ${outcome.failed.error}`);
  if (outcome.compensated) {
    lines.push(`Undone: ${outcome.compensated.length > 0 ? outcome.compensated.join(", ") : "nothing"}`);
  }
  lines.push(`Output: ${JSON.stringify(outcome.output) ?? "null"}`);
  return lines.join("\n");
}

export function outcomeResult(name: string, outcome: WorkflowOutcome): CallToolResult {
  return {
    content: [{ type: "text", text: summaryText(name, outcome) }],
    structuredContent: { ...outcome },
    isError: outcome.status === "failed" || outcome.status === "cancelled",
  };
}
