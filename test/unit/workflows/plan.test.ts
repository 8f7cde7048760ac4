import { describe, expect, it } from "vitest";
import { planResult, planWorkflow, workflowHints, type RouteInfo } from "../../../src/workflows/index.js";
import { compileAll } from "./helpers.js";

const routes: Record<string, RouteInfo> = {
  get_issue: { server: "github", originalName: "get_issue", readOnly: true, destructive: false },
  search: { server: "github", originalName: "search_issues", readOnly: true, destructive: false },
  add_card: { server: "trello", originalName: "add_card_to_list", readOnly: false, destructive: false },
  archive: { server: "trello", originalName: "archive_card", readOnly: false, destructive: true },
};
const lookup = (tool: string): RouteInfo | undefined => routes[tool];

const workflows = compileAll({
  read: {
    steps: [
      { id: "a", tool: "get_issue" },
      { id: "b", tool: "search" },
    ],
  },
  write: {
    steps: [
      { id: "issue", tool: "get_issue" },
      { id: "sub", tool: "read" },
      {
        id: "card",
        tool: "add_card",
        args: { n: "{{steps.issue.result.title}}" },
        compensate: { tool: "archive" },
      },
      { id: "each", tool: "search", forEach: "{{steps.card.result.labels}}", when: "{{steps.sub.result}}" },
    ],
  },
  nested: { steps: [{ id: "x", tool: "read" }] },
});
const get = (name: string) => {
  const wf = workflows.get(name);
  if (!wf) throw new Error(name);
  return wf;
};

describe("planWorkflow (dry run)", () => {
  it("lists parallel levels, routes and flags without calling anything", () => {
    const plan = planWorkflow(get("write"), lookup, workflows);
    expect(plan.levels).toEqual([["issue", "sub"], ["card"], ["each"]]);
    expect(plan.steps.map((s) => [s.id, s.level, s.target])).toEqual([
      ["issue", 0, { kind: "tool", ...routes["get_issue"] }],
      ["sub", 0, { kind: "workflow", name: "read" }],
      ["card", 1, { kind: "tool", ...routes["add_card"] }],
      ["each", 2, { kind: "tool", ...routes["search"] }],
    ]);
    expect(plan.steps[2]).toMatchObject({
      compensate: { tool: "archive", target: { kind: "tool", server: "trello" } },
      when: false,
    });
    expect(plan.steps[3]).toMatchObject({ when: true, forEach: true, dependsOn: ["sub", "card"] });
    const text = planResult(plan).content[0];
    expect(text?.type === "text" ? text.text : "").toContain(
      "- card: add_card -> trello/add_card_to_list (compensate: archive)",
    );
  });

  it("marks unknown tools", () => {
    expect(planWorkflow(get("read"), () => undefined).steps[0]?.target).toEqual({ kind: "unknown" });
  });
});

describe("workflowHints", () => {
  it("is read-only only when every step, through sub-workflows, is", () => {
    expect(workflowHints(get("read"), lookup, workflows)).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(workflowHints(get("nested"), lookup, workflows)).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(workflowHints(get("write"), lookup, workflows)).toEqual({
      readOnlyHint: false,
      destructiveHint: true,
    });
  });

  it("treats unknown tools as not read-only and destructive", () => {
    expect(workflowHints(get("read"), () => undefined)).toEqual({
      readOnlyHint: false,
      destructiveHint: true,
    });
  });
});
