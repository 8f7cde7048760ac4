import { describe, expect, it, vi } from "vitest";
import { isAggregatorError } from "../../../src/errors.js";
import { runWorkflow, type WorkflowOutcome } from "../../../src/workflows/index.js";
import type { WorkflowLimits } from "../../../src/workflows/limits.js";
import { compileOne, FakeInvoker, json } from "./helpers.js";

const outcome = (r: { structuredContent?: unknown }): WorkflowOutcome =>
  r.structuredContent as WorkflowOutcome;
const limits: WorkflowLimits = { maxForEachItems: 100, maxCallsPerRun: 1_000, maxInFlightPerRun: 16 };
const items = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("workflow fan-out limits (workflowLimits)", () => {
  it("a literal 20,000-item forEach is refused before any call, naming the limit", async () => {
    const wf = compileOne({
      steps: [{ id: "each", tool: "t", forEach: items(20_000), args: { n: "{{item}}" } }],
    });
    const inv = new FakeInvoker();
    const err = await runWorkflow(wf, {}, { invoker: inv, limits }).catch((e: unknown) => e);
    expect(isAggregatorError(err, "WORKFLOW_INVALID")).toBe(true);
    expect((err as Error).message).toBe(
      'step "each": forEach has 20000 items; a forEach may iterate at most 100 (workflowLimits.maxForEachItems); nothing was called',
    );
    expect(inv.calls).toHaveLength(0);
  });

  it("the default limits apply when none are given", async () => {
    const wf = compileOne({ steps: [{ id: "each", tool: "t", forEach: items(101) }] });
    const inv = new FakeInvoker();
    const err = await runWorkflow(wf, {}, { invoker: inv }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/at most 100 \(workflowLimits\.maxForEachItems\)/);
    expect(inv.calls).toHaveLength(0);
  });

  it("literal items of several steps over the per-run call budget are refused before any call", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "t", forEach: items(60) },
        { id: "b", tool: "t", forEach: items(60) },
        { id: "c", tool: "t" },
      ],
    });
    const inv = new FakeInvoker();
    const err = await runWorkflow(wf, {}, { invoker: inv, limits: { ...limits, maxCallsPerRun: 100 } }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe(
      "the workflow would make at least 121 calls; a run may make at most 100 (workflowLimits.maxCallsPerRun); nothing was called",
    );
    expect(inv.calls).toHaveLength(0);
  });

  it("a forEach template resolving to too many items fails its step before any item is called", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { list: { type: "array" } } },
      steps: [
        { id: "first", tool: "t0" },
        { id: "each", tool: "t", forEach: "{{input.list}}", dependsOn: ["first"] },
      ],
    });
    const inv = new FakeInvoker();
    const r = await runWorkflow(wf, { list: items(5_000) }, { invoker: inv, limits });
    expect(outcome(r).status).toBe("failed");
    expect(outcome(r).failed).toEqual({
      step: "each",
      error:
        "forEach resolved to 5000 items; a forEach may iterate at most 100 (workflowLimits.maxForEachItems); no item was called",
    });
    expect(inv.tools()).toEqual(["t0"]);
  });

  it("a run stops at its call budget: the call over it is not made and the run fails naming the limit", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { list: { type: "array" } } },
      steps: [{ id: "each", tool: "t", forEach: "{{input.list}}", forEachConcurrency: 1 }],
    });
    const inv = new FakeInvoker();
    const r = await runWorkflow(
      wf,
      { list: items(50) },
      { invoker: inv, limits: { ...limits, maxCallsPerRun: 10 } },
    );
    expect(inv.calls).toHaveLength(10);
    expect(outcome(r).status).toBe("failed");
    expect(JSON.stringify(outcome(r).failed)).toMatch(
      /the run reached its limit of 10 calls \(workflowLimits\.maxCallsPerRun\); t was not called/,
    );
  });

  it("calls in flight stay within maxInFlightPerRun across parallel forEach steps", async () => {
    const wf = compileOne({
      maxConcurrency: 8,
      steps: [
        { id: "a", tool: "ta", forEach: items(40), forEachConcurrency: 64 },
        { id: "b", tool: "tb", forEach: items(40), forEachConcurrency: 64 },
      ],
    });
    const inv = new FakeInvoker({}, true);
    const running = runWorkflow(wf, {}, { invoker: inv, limits: { ...limits, maxInFlightPerRun: 5 } });
    await vi.waitFor(() => expect(inv.held).toHaveLength(5));
    while (inv.calls.length < 80 || inv.held.length > 0) {
      const next = inv.held.shift();
      if (next) next.resolve(json({}));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const r = await running;
    expect(outcome(r).status).toBe("ok");
    expect(inv.calls).toHaveLength(80);
    expect(inv.maxInFlight).toBe(5);
  });

  it("compensation runs even when the budget is spent", async () => {
    const wf = compileOne({
      input: { type: "object", properties: { list: { type: "array" } } },
      steps: [
        { id: "make", tool: "create", compensate: { tool: "remove", args: {} } },
        { id: "each", tool: "t", forEach: "{{input.list}}", dependsOn: ["make"], forEachConcurrency: 1 },
      ],
    });
    const inv = new FakeInvoker();
    const r = await runWorkflow(
      wf,
      { list: items(5) },
      { invoker: inv, limits: { ...limits, maxCallsPerRun: 3 } },
    );
    expect(outcome(r).status).toBe("failed");
    expect(outcome(r).compensated).toEqual(["make"]);
    expect(inv.tools()).toEqual(["create", "t", "t", "remove"]);
  });
});
