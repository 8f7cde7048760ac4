import { describe, expect, it, vi } from "vitest";
import { runWorkflow, type WorkflowOutcome } from "../../../src/workflows/index.js";
import { compileOne, failure, FakeInvoker, json } from "./helpers.js";

const outcome = (r: { structuredContent?: unknown }): WorkflowOutcome =>
  r.structuredContent as WorkflowOutcome;
const statuses = (r: { structuredContent?: unknown }): Record<string, string> =>
  Object.fromEntries(outcome(r).trace.map((t) => [t.id, t.status]));

describe("runWorkflow: when", () => {
  it("skips a step whose condition is false, and its dependents, naming the skipped dependency", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { label: { type: "string" } } },
      steps: [
        { id: "check", tool: "tcheck" },
        { id: "bug", tool: "tbug", when: { equals: ["{{steps.check.result.kind}}", "{{input.label}}"] } },
        { id: "after", tool: "tafter", args: { v: "{{steps.bug.result}}" } },
        { id: "other", tool: "tother", when: { in: ["{{input.label}}", ["feature", "docs"]] } },
        { id: "always", tool: "talways", dependsOn: ["check"] },
      ],
      output: { bug: "{{steps.bug.result}}", deep: "{{steps.after.result.x}}" },
    });
    const inv = new FakeInvoker({ tcheck: () => json({ kind: "feature" }) });
    const result = await runWorkflow(wf, { label: "docs" }, { invoker: inv });
    expect(inv.tools()).toEqual(["tcheck", "tother", "talways"]);
    expect(statuses(result)).toEqual({
      check: "ok",
      bug: "skipped",
      after: "skipped",
      other: "ok",
      always: "ok",
    });
    expect(outcome(result).trace.find((t) => t.id === "bug")?.reason).toBe("condition is false");
    expect(outcome(result).trace.find((t) => t.id === "after")?.reason).toBe('dependency "bug" was skipped');
    expect(outcome(result).status).toBe("ok");
    // Output references to steps without a result resolve to null.
    expect(outcome(result).output).toEqual({ bug: null, deep: null });
  });

  it("fails the step when its condition cannot be evaluated", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "ta" },
        { id: "b", tool: "tb", when: "{{steps.a.result.missing}}" },
      ],
    });
    const result = await runWorkflow(wf, {}, { invoker: new FakeInvoker({ ta: () => json({}) }) });
    expect(outcome(result).failed).toEqual({
      step: "b",
      error: 'cannot resolve {{steps.a.result.missing}}: no "missing" in steps.a.result (it is an object)',
    });
  });
});

describe("runWorkflow: forEach", () => {
  it("runs once per item with bounded parallelism and keeps item order in the result", async () => {
    const wf = compileOne({
      steps: [
        { id: "list", tool: "tlist" },
        {
          id: "each",
          tool: "titem",
          forEach: "{{steps.list.result.items}}",
          forEachConcurrency: 2,
          args: { name: "{{item.name}}", i: "{{index}}" },
        },
      ],
    });
    const inv = new FakeInvoker({
      tlist: () => json({ items: [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }] }),
      titem: () => "hold",
    });
    const running = runWorkflow(wf, {}, { invoker: inv });
    await vi.waitFor(() => expect(inv.held).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 5));
    expect(inv.held).toHaveLength(2);
    // Finish out of order.
    inv.held[1]?.resolve(json("B"));
    inv.held.splice(1, 1);
    await vi.waitFor(() => expect(inv.held).toHaveLength(2));
    for (const call of inv.held.splice(0).reverse())
      call.resolve(json(String(call.args["name"]).toUpperCase()));
    await vi.waitFor(() => expect(inv.held).toHaveLength(1));
    inv.held.splice(0)[0]?.resolve(json("D"));
    const result = await running;
    expect(inv.maxInFlight).toBe(2);
    expect(inv.calls.slice(1).map((c) => c.args)).toEqual([
      { name: "a", i: 0 },
      { name: "b", i: 1 },
      { name: "c", i: 2 },
      { name: "d", i: 3 },
    ]);
    expect(outcome(result).output).toEqual(["A", "B", "C", "D"]);
    expect(outcome(result).trace[1]).toMatchObject({ id: "each", status: "ok", items: 4, attempts: 4 });
  });

  it("fails when forEach is not an array, and names the failing item otherwise", async () => {
    const notArray = compileOne({ steps: [{ id: "each", tool: "t", forEach: "{{input}}" }] });
    const r1 = await runWorkflow(notArray, {}, { invoker: new FakeInvoker() });
    expect(outcome(r1).failed).toEqual({
      step: "each",
      error: "forEach must resolve to an array, got object",
    });

    const itemFails = compileOne({
      steps: [{ id: "each", tool: "t", forEach: [1, 2, 3], forEachConcurrency: 1, args: { n: "{{item}}" } }],
    });
    const inv = new FakeInvoker({ t: (args) => (args["n"] === 2 ? failure("two is bad") : json(args["n"])) });
    const r2 = await runWorkflow(itemFails, {}, { invoker: inv });
    expect(outcome(r2).failed).toEqual({ step: "each", error: "item 1: two is bad" });
    expect(inv.calls).toHaveLength(2);
  });
});

describe("runWorkflow: onError", () => {
  const chain = (onError: unknown) =>
    compileOne({
      steps: [
        { id: "a", tool: "ta" },
        { id: "b", tool: "tb", onError },
        { id: "c", tool: "tc", args: { v: "{{steps.b.result}}" } },
        { id: "d", tool: "td" },
        { id: "e", tool: "te", dependsOn: ["d"] },
      ],
    });

  it("abort (default): stops the workflow, returns failed with isError", async () => {
    const inv = new FakeInvoker({ tb: () => failure("boom"), td: () => "hold" });
    const running = runWorkflow(chain("abort"), {}, { invoker: inv });
    await vi.waitFor(() => expect(inv.held).toHaveLength(1));
    inv.release("td");
    const result = await running;
    expect(result.isError).toBe(true);
    expect(outcome(result).status).toBe("failed");
    expect(outcome(result).failed).toEqual({ step: "b", error: "boom" });
    // The in-flight step d was allowed to finish; nothing new started after the failure.
    expect(statuses(result)).toEqual({ a: "ok", b: "error", c: "skipped", d: "ok", e: "skipped" });
    expect(outcome(result).trace[4]?.reason).toBe("not run: workflow aborted");
    expect(inv.tools()).toEqual(["ta", "tb", "td"]);
  });

  it("continue: marks the step error, skips its dependents, goes on and ends partial", async () => {
    const inv = new FakeInvoker({ tb: () => Promise.reject(new Error("thrown")) });
    const result = await runWorkflow(chain("continue"), {}, { invoker: inv });
    expect(result.isError).toBe(false);
    expect(outcome(result).status).toBe("partial");
    expect(statuses(result)).toEqual({ a: "ok", b: "error", c: "skipped", d: "ok", e: "ok" });
    expect(outcome(result).trace[1]?.error).toBe("thrown");
    expect(outcome(result).trace[2]?.reason).toBe('dependency "b" failed');
    expect(inv.tools()).toEqual(["ta", "tb", "td", "te"]);
  });

  it("retry: calls N more times, succeeding when one attempt does", async () => {
    let n = 0;
    const inv = new FakeInvoker({ tb: () => (++n < 3 ? failure(`fail ${n}`) : json("third time")) });
    const result = await runWorkflow(chain({ retry: 2, delayMs: 1 }), {}, { invoker: inv });
    expect(outcome(result).status).toBe("ok");
    expect(outcome(result).trace[1]).toMatchObject({ status: "ok", attempts: 3 });
    expect(inv.calls.find((c) => c.tool === "tc")?.args).toEqual({ v: "third time" });
  });

  it("retry: aborts after the last attempt fails", async () => {
    const inv = new FakeInvoker({ tb: () => failure("always") });
    const result = await runWorkflow(chain({ retry: 1 }), {}, { invoker: inv });
    expect(outcome(result).status).toBe("failed");
    expect(outcome(result).trace[1]).toMatchObject({ status: "error", attempts: 2, error: "always" });
  });
});

describe("runWorkflow: compensation (saga)", () => {
  it("undoes completed steps in reverse completion order and lists them", async () => {
    const wf = compileOne({
      steps: [
        {
          id: "card",
          tool: "create_card",
          compensate: { tool: "archive", args: { id: "{{steps.card.result.id}}" } },
        },
        {
          id: "label",
          tool: "add_label",
          args: { card: "{{steps.card.result.id}}" },
          compensate: {
            tool: "remove_label",
            args: { card: "{{steps.card.result.id}}", label: "{{steps.label.result.label}}" },
          },
        },
        { id: "noUndo", tool: "read", dependsOn: ["label"] },
        { id: "fail", tool: "explode", dependsOn: ["noUndo"] },
      ],
    });
    const inv = new FakeInvoker({
      create_card: () => json({ id: "c1" }),
      add_label: () => json({ label: "bug" }),
      explode: () => failure("nope"),
      remove_label: () => failure("label service down"),
    });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.tools()).toEqual(["create_card", "add_label", "read", "explode", "remove_label", "archive"]);
    expect(inv.calls[4]?.args).toEqual({ card: "c1", label: "bug" });
    expect(inv.calls[5]?.args).toEqual({ id: "c1" });
    const o = outcome(result);
    expect(o.status).toBe("failed");
    expect(o.compensated).toEqual(["card"]);
    expect(statuses(result)).toEqual({ card: "compensated", label: "ok", noUndo: "ok", fail: "error" });
    expect(o.trace[1]?.compensationError).toBe("label service down");
    const text = result.content[0]?.type === "text" ? result.content[0].text : "";
    expect(text).toContain("Failed at fail: nope");
    expect(text).toContain("Undone: card");
  });

  it("undoes forEach items one by one, newest first, including items of a failed forEach", async () => {
    const wf = compileOne({
      steps: [
        {
          id: "cards",
          tool: "create",
          forEach: ["a", "b", "c"],
          forEachConcurrency: 1,
          args: { name: "{{item}}" },
          compensate: {
            tool: "archive",
            args: { id: "{{steps.cards.result.id}}", name: "{{item}}", i: "{{index}}" },
          },
        },
      ],
    });
    const inv = new FakeInvoker({
      create: (args) =>
        args["name"] === "c" ? failure("quota") : json({ id: `id-${String(args["name"])}` }),
    });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.calls.filter((c) => c.tool === "archive").map((c) => c.args)).toEqual([
      { id: "id-b", name: "b", i: 1 },
      { id: "id-a", name: "a", i: 0 },
    ]);
    expect(outcome(result).compensated).toEqual(["cards"]);
    expect(statuses(result)).toEqual({ cards: "error" });
  });

  it("does not compensate when the workflow succeeds or ends partial", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "ta", compensate: { tool: "undo" } },
        { id: "b", tool: "tb", onError: "continue" },
      ],
    });
    const result = await runWorkflow(wf, {}, { invoker: new FakeInvoker({ tb: () => failure("x") }) });
    expect(outcome(result).status).toBe("partial");
    expect(outcome(result).compensated).toBeUndefined();
  });

  it("fails on an output template that does not resolve, without undoing the steps", async () => {
    const wf = compileOne({
      steps: [{ id: "a", tool: "ta", compensate: { tool: "undo" } }],
      output: "{{steps.a.result.nope}}",
    });
    const inv = new FakeInvoker({ ta: () => json({ id: 1 }) });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(outcome(result)).toMatchObject({
      status: "failed",
      output: null,
      failed: {
        step: "output",
        error: 'cannot resolve {{steps.a.result.nope}}: no "nope" in steps.a.result (it is an object)',
      },
    });
    expect(inv.tools()).toEqual(["ta"]);
  });
});
