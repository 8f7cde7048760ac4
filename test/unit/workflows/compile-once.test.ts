import { describe, expect, it } from "vitest";
import { BUILTIN_FALLBACKS, BUILTIN_WORKFLOWS } from "../../../src/workflows/builtins/index.js";
import { validateWorkflows } from "../../../src/workflows/index.js";

const knownTool = (): boolean => true;

const badSchema = {
  input: { type: "object", properties: { a: { type: "strin" } } },
  steps: [{ id: "a", tool: "github_get_issue" }],
};

describe("workflow compilation at start-up", () => {
  it("compiles every shipped input schema without a problem (what makes compiling them on first call safe)", () => {
    const { ok, problems } = validateWorkflows(BUILTIN_WORKFLOWS, { knownTool });
    expect(problems).toEqual([]);
    expect(ok.map((w) => w.name).sort()).toEqual(Object.keys(BUILTIN_WORKFLOWS).sort());
    const fallbacks = Object.fromEntries(
      Object.entries(BUILTIN_FALLBACKS).map(([name, f]) => [name, f.definition]),
    );
    const archived = validateWorkflows(fallbacks, { knownTool });
    expect(archived.problems).toEqual([]);
    expect(archived.ok.map((w) => w.name).sort()).toEqual(Object.keys(BUILTIN_FALLBACKS).sort());
  });

  it("a definition whose input schema is compiled on first call reports a broken schema when called", () => {
    const defs = { bad: badSchema };
    const eager = validateWorkflows(defs, { knownTool });
    expect(eager.problems[0]).toMatch(/^workflows\.bad\.input: invalid JSON Schema/);

    const lazy = validateWorkflows(defs, { knownTool, lazyInputSchema: () => true });
    expect(lazy.problems).toEqual([]);
    const wf = lazy.ok[0];
    expect(wf?.checkInput({ a: "x" })).toEqual({
      ok: false,
      error: "the workflow's input schema is invalid",
    });
  });

  it("a lazily compiled input schema validates and fills defaults like an eager one", () => {
    const defs = {
      w: {
        input: {
          type: "object",
          properties: { n: { type: "integer" }, label: { type: "string", default: "none" } },
          required: ["n"],
        },
        steps: [{ id: "a", tool: "github_get_issue", args: { n: "{{input.n}}" } }],
      },
    };
    for (const lazyInputSchema of [() => false, () => true]) {
      const wf = validateWorkflows(defs, { knownTool, lazyInputSchema }).ok[0];
      expect(wf?.checkInput({ n: 1 })).toEqual({ ok: true, value: { n: 1, label: "none" } });
      const wrong = wf?.checkInput({ n: "one" });
      expect(wrong?.ok).toBe(false);
      expect(wrong && !wrong.ok && wrong.error).toMatch(/input\/n must be integer/);
    }
  });

  it("compiles a frozen definition once; tool names are still checked against each catalog", () => {
    const defs = Object.freeze({ w: Object.freeze({ ...badSchema, input: { type: "object" } }) });
    const first = validateWorkflows(defs, { knownTool });
    const again = validateWorkflows(defs, { knownTool });
    expect(again.ok[0]).toBe(first.ok[0]);
    const withoutTool = validateWorkflows(defs, { knownTool: () => false });
    expect(withoutTool.ok).toEqual([]);
    expect(withoutTool.problems).toEqual(['workflows.w.steps[0].tool: unknown tool "github_get_issue"']);
    // A definition that can still change (an ad-hoc run_workflow argument) is compiled every time.
    const open = { w: { ...badSchema, input: { type: "object" } } };
    expect(validateWorkflows(open, { knownTool }).ok[0]).not.toBe(
      validateWorkflows(open, { knownTool }).ok[0],
    );
  });

  it("does not share a compiled workflow between names or between eager and lazy compilation", () => {
    const def = Object.freeze({ ...badSchema });
    const asA = validateWorkflows({ a: def }, { knownTool });
    const asB = validateWorkflows({ b: def }, { knownTool });
    expect(asA.problems[0]).toMatch(/^workflows\.a\.input/);
    expect(asB.problems[0]).toMatch(/^workflows\.b\.input/);
    const lazy = validateWorkflows({ a: def }, { knownTool, lazyInputSchema: () => true });
    expect(lazy.problems).toEqual([]);
  });
});
