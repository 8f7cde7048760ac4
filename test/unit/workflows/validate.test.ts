import { describe, expect, it } from "vitest";
import { validateWorkflows } from "../../../src/workflows/index.js";

const catalog = new Set([
  "github_get_issue",
  "trello_add_card_to_list",
  "trello_archive_card",
  "memory_create_entities",
]);
const knownTool = (name: string): boolean => catalog.has(name);

const issueToCard = {
  description: "Issue to card",
  input: {
    type: "object",
    properties: { owner: { type: "string" }, issue_number: { type: "number" }, list_id: { type: "string" } },
    required: ["owner", "issue_number", "list_id"],
  },
  steps: [
    {
      id: "issue",
      tool: "github_get_issue",
      args: { owner: "{{input.owner}}", issue_number: "{{input.issue_number}}" },
    },
    {
      id: "card",
      tool: "trello_add_card_to_list",
      args: { listId: "{{input.list_id}}", name: "{{steps.issue.result.title}}" },
      compensate: { tool: "trello_archive_card", args: { cardId: "{{steps.card.result.id}}" } },
    },
    {
      id: "remember",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: "{{steps.issue.result.html_url}}",
            entityType: "github_issue",
            observations: ["trello card {{steps.card.result.url}}"],
          },
        ],
      },
    },
  ],
  output: { card: "{{steps.card.result}}" },
};

describe("validateWorkflows", () => {
  it("compiles the issue's example, with defaults and levels", () => {
    const { ok, problems } = validateWorkflows({ github_issue_to_trello_card: issueToCard }, { knownTool });
    expect(problems).toEqual([]);
    const [wf] = ok;
    expect(wf?.name).toBe("github_issue_to_trello_card");
    expect(wf?.levels).toEqual([["issue"], ["card"], ["remember"]]);
    expect(wf?.maxConcurrency).toBe(4);
    expect(wf?.steps[2]?.deps).toEqual(["issue", "card"]);
  });

  it("lists every problem at once, each naming its JSON path", () => {
    const broken = {
      input: { type: "object", properties: { owner: { type: "string" } } },
      steps: [
        { id: "issue", tool: "github_get_isue", args: { owner: "{{input.ownr}}" } },
        { id: "card", tool: "trello_add_card_to_list", args: { name: "{{steps.isue.result.title}}" } },
        {
          id: "card",
          tool: "memory_create_entities",
          args: { x: "{{steps.issue.result", y: "{{item}}" },
          dependsOn: ["nope"],
        },
        {
          id: "a",
          tool: "memory_create_entities",
          args: { v: "{{steps.b.result}}" },
          compensate: { tool: "trello_archive_card", args: { id: "{{steps.later.result.id}}" } },
        },
        { id: "b", tool: "memory_create_entities", args: { v: "{{steps.a.result}}" } },
        { id: "later", tool: "memory_create_entities" },
      ],
      output: "{{steps.ghost.result}}",
    };
    const { ok, problems } = validateWorkflows({ broken }, { knownTool });
    expect(ok).toEqual([]);
    expect(problems).toEqual([
      'workflows.broken.steps[2].id: duplicate step id "card" (also steps[1])',
      'workflows.broken.steps[0].args.owner: unknown input property "ownr" in {{input.ownr}} (input.properties: owner)',
      'workflows.broken.steps[1].args.name: unknown step "isue" in {{steps.isue.result.title}}',
      'workflows.broken.steps[2].args.x: unclosed "{{" at character 0 in "{{steps.issue.result"',
      "workflows.broken.steps[2].args.y: {{item}}: item is only available in the args and compensate of a forEach step",
      'workflows.broken.steps[2].dependsOn[0]: unknown step "nope"',
      'workflows.broken.steps[3]: dependency cycle "a" -> "b" -> "a"',
      'workflows.broken.steps[3].compensate.args.id: compensate references step "later" in {{steps.later.result.id}}, which is not "a" or one of its dependencies (it may not have run)',
      'workflows.broken.output: unknown step "ghost" in {{steps.ghost.result}}',
      'workflows.broken.steps[0].tool: unknown tool "github_get_isue"',
    ]);
  });

  it("reports shape errors from the strict schema with paths, alongside other workflows' problems", () => {
    const { ok, problems } = validateWorkflows(
      {
        shape: {
          steps: [{ id: "a", tool: "github_get_issue", arg: {}, onError: "explode", when: { eq: [1, 1] } }],
          extra: 1,
        },
        fine: { steps: [{ id: "a", tool: "github_get_issue" }] },
        empty: { steps: [] },
      },
      { knownTool },
    );
    expect(ok.map((w) => w.name)).toEqual(["fine"]);
    expect(problems).toContain("workflows.shape.extra: unknown key");
    expect(problems).toContain("workflows.shape.steps[0].arg: unknown key");
    expect(problems.some((p) => p.startsWith("workflows.shape.steps[0].onError: "))).toBe(true);
    expect(problems).toContain(
      "workflows.shape.steps[0].when: expected a template string, a boolean, or an object with exactly one operator: equals, notEquals, gt, gte, lt, lte, in, exists, not, and, or",
    );
    expect(problems.some((p) => p.startsWith("workflows.empty.steps: "))).toBe(true);
  });

  it("rejects an invalid input JSON Schema and a non-object one", () => {
    const { problems } = validateWorkflows(
      {
        bad: {
          input: { type: "object", properties: { a: { type: "strin" } } },
          steps: [{ id: "a", tool: "github_get_issue" }],
        },
        notObject: { input: { type: "string" }, steps: [{ id: "a", tool: "github_get_issue" }] },
      },
      { knownTool },
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^workflows\.bad\.input: invalid JSON Schema: schema is invalid: data\/properties\/a\/type/,
    );
    expect(problems[1]).toBe('workflows.notObject.input: input schema must have "type": "object"');
  });

  it("accepts workflows as tools and rejects cycles between workflows, and callers of invalid workflows", () => {
    const { ok, problems } = validateWorkflows(
      {
        a: { steps: [{ id: "s", tool: "b" }] },
        b: {
          steps: [
            { id: "s", tool: "github_get_issue" },
            { id: "t", tool: "c" },
          ],
        },
        c: { steps: [{ id: "s", tool: "memory_create_entities", compensate: { tool: "b" } }] },
        self: { steps: [{ id: "s", tool: "self" }] },
        caller: { steps: [{ id: "s", tool: "c" }] },
        good: { steps: [{ id: "s", tool: "leaf" }] },
        leaf: { steps: [{ id: "s", tool: "github_get_issue" }] },
      },
      { knownTool },
    );
    expect(ok.map((w) => w.name)).toEqual(["good", "leaf"]);
    expect(problems).toEqual([
      'workflows.a.steps[0].tool: workflow "b" is invalid (see its problems)',
      'workflows.b.steps[1].tool: workflow cycle "b" -> "c" -> "b"',
      'workflows.c.steps[0].compensate.tool: workflow cycle "b" -> "c" -> "b"',
      'workflows.self.steps[0].tool: workflow cycle "self" -> "self"',
      'workflows.caller.steps[0].tool: workflow "c" is invalid (see its problems)',
    ]);
  });

  it("checks templates in when, forEach and compensate", () => {
    const { problems } = validateWorkflows(
      {
        w: {
          input: { type: "object", properties: { go: { type: "boolean" } } },
          steps: [
            { id: "list", tool: "github_get_issue" },
            {
              id: "each",
              tool: "memory_create_entities",
              when: { and: ["{{input.go}}", { exists: "{{steps.lst.result}}" }] },
              forEach: "{{steps.list.result.items}}",
              args: { name: "{{item.name}}", i: "{{index}}" },
              compensate: {
                tool: "trello_archive_card",
                args: { id: "{{steps.each.result.id}}", n: "{{item.name}}", bad: "{{input.nope}}" },
              },
            },
            { id: "x", tool: "github_get_issue", forEach: "{{item}}", when: "{{steps.list.result" },
          ],
        },
      },
      { knownTool },
    );
    expect(problems).toEqual([
      'workflows.w.steps[1].when.and[1].exists: unknown step "lst" in {{steps.lst.result}}',
      'workflows.w.steps[1].compensate.args.bad: unknown input property "nope" in {{input.nope}} (input.properties: go)',
      'workflows.w.steps[2].when: unclosed "{{" at character 0 in "{{steps.list.result"',
      "workflows.w.steps[2].forEach: {{item}}: item is only available in the args and compensate of a forEach step",
    ]);
  });

  it("returns nothing for an absent section and complains about a non-object one", () => {
    expect(validateWorkflows(undefined, { knownTool })).toEqual({ ok: [], problems: [] });
    expect(validateWorkflows([], { knownTool }).problems).toHaveLength(1);
  });
});
