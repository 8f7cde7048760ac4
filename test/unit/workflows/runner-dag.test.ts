import { describe, expect, it, vi } from "vitest";
import { isAggregatorError } from "../../../src/errors.js";
import { runWorkflow, type WorkflowOutcome } from "../../../src/workflows/index.js";
import { compileOne, FakeInvoker, json } from "./helpers.js";

const outcome = (r: { structuredContent?: unknown }): WorkflowOutcome =>
  r.structuredContent as WorkflowOutcome;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe("runWorkflow: DAG scheduling", () => {
  it("runs independent steps at once and a join only after both", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "ta" },
        { id: "b", tool: "tb" },
        { id: "c", tool: "tc", args: { x: "{{steps.a.result.v}}", y: "{{steps.b.result.v}}" } },
      ],
    });
    const inv = new FakeInvoker({
      ta: () => "hold",
      tb: () => "hold",
      tc: (args) => json({ sum: Number(args["x"]) + Number(args["y"]) }),
    });
    const running = runWorkflow(wf, {}, { invoker: inv });
    await vi.waitFor(() => expect(inv.held.map((c) => c.tool)).toEqual(["ta", "tb"]));
    expect(inv.maxInFlight).toBe(2);
    inv.release("ta", json({ v: 1 }));
    await tick();
    expect(inv.tools()).toEqual(["ta", "tb"]);
    inv.release("tb", json({ v: 2 }));
    const result = await running;
    expect(inv.tools()).toEqual(["ta", "tb", "tc"]);
    expect(inv.calls[2]?.args).toEqual({ x: 1, y: 2 });
    expect(result.isError).toBe(false);
    expect(outcome(result).status).toBe("ok");
    expect(outcome(result).output).toEqual({ sum: 3 });
  });

  it("never has more than maxConcurrency steps in flight", async () => {
    const wf = compileOne({
      maxConcurrency: 2,
      steps: ["a", "b", "c", "d", "e"].map((id) => ({ id, tool: `t${id}` })),
    });
    const inv = new FakeInvoker({}, true);
    const running = runWorkflow(wf, {}, { invoker: inv });
    for (const tool of ["ta", "tb", "tc", "td", "te"]) {
      await vi.waitFor(() => expect(inv.held.some((c) => c.tool === tool)).toBe(true));
      await tick();
      expect(inv.inFlight).toBeLessThanOrEqual(2);
      inv.release(tool);
    }
    expect(outcome(await running).status).toBe("ok");
    expect(inv.maxInFlight).toBe(2);
    expect(inv.tools()).toEqual(["ta", "tb", "tc", "td", "te"]);
  });

  it("orders by dependsOn without data flow", async () => {
    const wf = compileOne({
      steps: [
        { id: "later", tool: "t2", dependsOn: ["first"] },
        { id: "first", tool: "t1" },
      ],
    });
    const inv = new FakeInvoker();
    await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.tools()).toEqual(["t1", "t2"]);
  });

  it("reads a result as structuredContent, else JSON text, else text", async () => {
    const wf = compileOne({
      steps: [
        { id: "s", tool: "structured" },
        { id: "j", tool: "jsonText" },
        { id: "t", tool: "plainText" },
        { id: "n", tool: "numberText" },
        {
          id: "use",
          tool: "sink",
          args: {
            s: "{{steps.s.result.v}}",
            j: "{{steps.j.result.v}}",
            t: "{{steps.t.result}}",
            n: "{{steps.n.result}}",
          },
        },
      ],
    });
    const inv = new FakeInvoker({
      structured: () => ({
        content: [{ type: "text", text: "ignored" }],
        structuredContent: { v: "from structured" },
      }),
      jsonText: () => ({ content: [{ type: "text", text: '{"v": [1, 2]}' }] }),
      plainText: () => ({
        content: [
          { type: "text", text: "hello" },
          { type: "text", text: "world" },
        ],
      }),
      numberText: () => ({ content: [{ type: "text", text: "42" }] }),
      sink: () => json("done"),
    });
    await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.calls.at(-1)?.args).toEqual({ s: "from structured", j: [1, 2], t: "hello\nworld", n: 42 });
  });

  it("shapes the output from input and results and returns a trace and a text summary", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { who: { type: "string", default: "octo" } } },
      steps: [{ id: "a", tool: "ta", args: { who: "{{input.who}}" } }],
      output: { greeting: "hi {{input.who}}", raw: "{{steps.a.result}}" },
    });
    const inv = new FakeInvoker({ ta: () => json({ id: 9 }) });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.calls[0]?.args).toEqual({ who: "octo" });
    expect(outcome(result).output).toEqual({ greeting: "hi octo", raw: { id: 9 } });
    expect(outcome(result).trace).toEqual([
      { id: "a", tool: "ta", status: "ok", durationMs: expect.any(Number) as number, attempts: 1 },
    ]);
    const text = result.content[0]?.type === "text" ? result.content[0].text : "";
    expect(text.split("\n")[0]).toBe("Workflow wf: ok");
    expect(text).toContain("- a (ta): ok");
    expect(text).toContain('Output: {"greeting":"hi octo","raw":{"id":9}}');
  });

  it("rejects input that does not match the schema with INVALID_ARGUMENTS and calls nothing", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { n: { type: "number" } }, required: ["n"] },
      steps: [{ id: "a", tool: "ta" }],
    });
    const inv = new FakeInvoker();
    const err = await runWorkflow(wf, { n: "x" }, { invoker: inv }).catch((e: unknown) => e);
    expect(isAggregatorError(err, "INVALID_ARGUMENTS")).toBe(true);
    expect((err as Error).message).toBe("wf: input/n must be number");
    expect(inv.calls).toEqual([]);
  });

  it("reports progress once per finished step", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "ta" },
        { id: "b", tool: "tb", when: false },
        { id: "c", tool: "tc", dependsOn: ["a"] },
      ],
    });
    const updates: unknown[] = [];
    await runWorkflow(wf, {}, { invoker: new FakeInvoker(), onProgress: (u) => updates.push(u) });
    expect(updates).toEqual([
      { progress: 1, total: 3, message: "b: skipped" },
      { progress: 2, total: 3, message: "a: ok" },
      { progress: 3, total: 3, message: "c: ok" },
    ]);
  });

  it("runs a sub-workflow through the invoker and exposes its structured result", async () => {
    const sub = compileOne({ steps: [{ id: "x", tool: "leaf" }], output: "{{steps.x.result.v}}" }, "sub");
    const parent = compileOne(
      {
        steps: [
          { id: "call", tool: "sub" },
          { id: "use", tool: "sink", args: { v: "{{steps.call.result.output}}" } },
        ],
      },
      "parent",
    );
    const inv: FakeInvoker = new FakeInvoker({
      leaf: () => json({ v: "deep" }),
      sub: (args, call) => runWorkflow(sub, args, { invoker: inv, signal: call.signal }),
      sink: () => json("ok"),
    });
    const result = await runWorkflow(parent, {}, { invoker: inv });
    expect(outcome(result).status).toBe("ok");
    expect(inv.calls.at(-1)?.args).toEqual({ v: "deep" });
  });
});
