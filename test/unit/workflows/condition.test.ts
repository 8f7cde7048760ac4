import { describe, expect, it } from "vitest";
import { compileCondition, evaluateCondition, truthy } from "../../../src/workflows/condition.js";
import { conditionSchema, type Condition } from "../../../src/workflows/schema.js";
import type { TemplateScope } from "../../../src/workflows/template.js";

const scope: TemplateScope = {
  input: {
    label: "bug",
    empty: "",
    count: 3,
    labels: ["bug", "ui"],
    obj: { a: 1 },
    none: null,
    title: "Crash on start",
  },
  results: new Map<string, unknown>([["s", { items: [], total: 10, state: "open" }]]),
};

function evaluate(cond: Condition): boolean {
  const problems: string[] = [];
  const compiled = compileCondition(conditionSchema.parse(cond), "when", (p, m) =>
    problems.push(`${p}: ${m}`),
  );
  expect(problems).toEqual([]);
  return evaluateCondition(compiled, scope);
}

describe("conditions", () => {
  it.each<[Condition, boolean]>([
    ["{{input.label}}", true],
    ["{{input.empty}}", false],
    ["{{steps.s.result.items}}", false],
    ["{{input.obj}}", true],
    ["{{input.none}}", false],
    [true, true],
    [false, false],
    [{ equals: ["{{input.count}}", 3] }, true],
    [{ equals: ["{{input.count}}", "3"] }, false],
    [{ equals: ["{{input.obj}}", { a: 1 }] }, true],
    [{ equals: ["{{steps.s.result.state}}", "open"] }, true],
    [{ notEquals: ["{{input.label}}", "feature"] }, true],
    [{ notEquals: ["{{input.label}}", "bug"] }, false],
    [{ gt: ["{{steps.s.result.total}}", "{{input.count}}"] }, true],
    [{ gt: [1, 1] }, false],
    [{ gte: [1, 1] }, true],
    [{ lt: ["{{input.count}}", 4] }, true],
    [{ lte: ["b", "a"] }, false],
    [{ in: ["{{input.label}}", ["bug", "crash"]] }, true],
    [{ in: ["docs", "{{input.labels}}"] }, false],
    [{ in: ["Crash", "{{input.title}}"] }, true],
    [{ exists: "{{input.label}}" }, true],
    [{ exists: "{{input.missing.deep}}" }, false],
    [{ exists: "{{steps.other.result}}" }, false],
    [{ exists: "{{input.none}}" }, false],
    [{ not: { exists: "{{input.missing}}" } }, true],
    [{ and: ["{{input.label}}", { gt: ["{{input.count}}", 1] }] }, true],
    [{ and: ["{{input.label}}", "{{input.empty}}"] }, false],
    [{ or: ["{{input.empty}}", { equals: [1, 1] }] }, true],
    [{ or: [false, "{{input.empty}}"] }, false],
  ])("%j → %s", (cond, expected) => {
    expect(evaluate(cond)).toBe(expected);
  });

  it("fails on an unresolvable path outside exists, and on operands that do not fit", () => {
    expect(() => evaluate("{{input.missing}}")).toThrow('no "missing" in input');
    expect(() => evaluate({ gt: ["{{input.label}}", 1] })).toThrow(
      'gt needs two numbers or two strings, got "bug" and 1',
    );
    expect(() => evaluate({ in: ["a", 5] })).toThrow("in needs [item, array] or [substring, string]");
  });

  it("defines truthiness: false, null, 0, empty string, [] and {} are false", () => {
    expect([false, null, 0, "", [], {}].map(truthy)).toEqual([false, false, false, false, false, false]);
    expect([true, 1, "0", "false", [0], { a: 0 }].map(truthy)).toEqual([true, true, true, true, true, true]);
  });

  it("rejects unknown operators and wrong arity at schema level", () => {
    expect(conditionSchema.safeParse({ eq: [1, 1] }).success).toBe(false);
    expect(conditionSchema.safeParse({ equals: [1] }).success).toBe(false);
    expect(conditionSchema.safeParse({ and: [{ nope: 1 }] }).success).toBe(false);
    expect(conditionSchema.safeParse({ equals: [1, 2], not: true }).success).toBe(false);
  });
});
