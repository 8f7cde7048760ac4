import { describe, expect, it } from "vitest";
import { isAggregatorError } from "../../../src/errors.js";
import {
  compileValue,
  refsOf,
  renderTemplate,
  resolveValue,
  type TemplateScope,
} from "../../../src/workflows/template.js";

const scope: TemplateScope = {
  input: { owner: "octo", n: 42, flag: false, nothing: null, tags: ["a", "b"], nested: { deep: { x: 1 } } },
  results: new Map<string, unknown>([
    ["issue", { title: "Bug", number: 7, labels: [{ name: "bug" }, { name: "ui" }], user: { login: "me" } }],
    ["text", "plain words"],
  ]),
};

function problemsOf(value: unknown): string[] {
  const problems: string[] = [];
  compileValue(value, "args", (p, m) => problems.push(`${p}: ${m}`));
  return problems;
}

describe("templates: whole-string references keep their JSON type", () => {
  it.each([
    ["{{input.n}}", 42],
    ["{{input.flag}}", false],
    ["{{input.nothing}}", null],
    ["{{input.tags}}", ["a", "b"]],
    ["{{steps.issue.result.user}}", { login: "me" }],
    [" {{input.n}}", " 42"],
    ["{{ input.n }}", 42],
  ])("%s", (template, expected) => {
    expect(renderTemplate(template, scope)).toEqual(expected);
  });
});

describe("templates: interpolation inside longer strings", () => {
  it("turns strings, numbers and objects into text", () => {
    expect(
      renderTemplate("#{{steps.issue.result.number}} {{steps.issue.result.title}} by {{input.owner}}", scope),
    ).toBe("#7 Bug by octo");
    expect(renderTemplate("user={{steps.issue.result.user}} tags={{input.tags}}", scope)).toBe(
      'user={"login":"me"} tags=["a","b"]',
    );
    expect(renderTemplate("{{input.flag}}/{{input.nothing}}", scope)).toBe("false/null");
  });

  it("resolves inside nested objects and arrays, leaving literals alone", () => {
    const value = { a: [{ b: "{{input.n}}", c: 1 }], d: "text", e: { f: "{{steps.text.result}}" } };
    expect(renderTemplate(value, scope)).toEqual({
      a: [{ b: 42, c: 1 }],
      d: "text",
      e: { f: "plain words" },
    });
  });
});

describe("templates: paths", () => {
  it("follows .key and [n] segments, and .length of arrays", () => {
    expect(renderTemplate("{{steps.issue.result.labels[1].name}}", scope)).toBe("ui");
    expect(renderTemplate("{{input.nested.deep.x}}", scope)).toBe(1);
    expect(renderTemplate("{{steps.issue.result.labels.length}}", scope)).toBe(2);
    expect(renderTemplate("{{input}}", scope)).toEqual(scope.input);
  });

  it("fails naming the template and the missing segment", () => {
    const err = (() => {
      try {
        renderTemplate("{{steps.issue.result.user.name}}", scope);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isAggregatorError(err, "TEMPLATE_ERROR")).toBe(true);
    expect(String((err as Error).message)).toBe(
      'cannot resolve {{steps.issue.result.user.name}}: no "name" in steps.issue.result.user (it is an object)',
    );
    expect(() => renderTemplate("{{steps.issue.result.labels[5]}}", scope)).toThrow(
      "no [5] in steps.issue.result.labels (it is an array)",
    );
    expect(() => renderTemplate("x {{input.n.y}}", scope)).toThrow(
      'cannot resolve {{input.n.y}}: no "y" in input.n (it is a number)',
    );
    expect(() => renderTemplate("{{steps.other.result}}", scope)).toThrow('step "other" has no result');
  });

  it("binds item and index only inside forEach", () => {
    const inLoop = { ...scope, item: { id: 3 }, index: 0 };
    expect(renderTemplate("{{item.id}}-{{index}}", inLoop)).toBe("3-0");
    expect(renderTemplate("{{index}}", inLoop)).toBe(0);
    expect(() => renderTemplate("{{item}}", scope)).toThrow("item is only set inside forEach");
  });
});

describe("templates: parsing", () => {
  it("reports malformed templates with their path", () => {
    expect(
      problemsOf({ a: "{{input.x", b: ["{{nope.x}}"], c: "{{steps.s.title}}", d: "{{index.x}}", e: "{{}}" }),
    ).toEqual([
      'args.a: unclosed "{{" at character 0 in "{{input.x"',
      "args.b[0]: invalid template {{nope.x}}: expected input, steps.<id>.result, item or index followed by .key or [n] segments",
      "args.c: invalid template {{steps.s.title}}: expected steps.<id>.result",
      "args.d: invalid template {{index.x}}: index has no properties",
      "args.e: invalid template {{}}: expected input, steps.<id>.result, item or index followed by .key or [n] segments",
    ]);
  });

  it("pre-parses once: literal subtrees fold, references are listed with paths", () => {
    const compiled = compileValue(
      { lit: { a: 1 }, x: ["{{steps.a.result.b}}", "n={{input.n}}"] },
      "args",
      () => undefined,
    );
    expect(refsOf(compiled, "args").map((r) => [r.path, r.ref.root, r.ref.step, r.ref.path])).toEqual([
      ["args.x[0]", "steps", "a", ["b"]],
      ["args.x[1]", "input", undefined, ["n"]],
    ]);
    expect(compileValue({ a: [1, "two"] }, "args", () => undefined).kind).toBe("literal");
  });

  it("returns copies of literal objects so callees cannot mutate the definition", () => {
    const def = Object.freeze({ list: Object.freeze([1, 2]) });
    const compiled = compileValue(def, "args", () => undefined);
    const out = resolveValue(compiled, scope) as { list: number[] };
    out.list.push(3);
    expect(def.list).toEqual([1, 2]);
  });
});
