import { afterEach, describe, expect, it, vi } from "vitest";
import { runWorkflow, type WorkflowOutcome } from "../../../src/workflows/index.js";
import { compileOne, FakeInvoker, json } from "./helpers.js";

const outcome = (r: { structuredContent?: unknown }): WorkflowOutcome =>
  r.structuredContent as WorkflowOutcome;
const statuses = (r: { structuredContent?: unknown }): Record<string, string> =>
  Object.fromEntries(outcome(r).trace.map((t) => [t.id, t.status]));

describe("runWorkflow: cancellation", () => {
  it("aborts in-flight steps through their signal, starts nothing new and compensates completed steps", async () => {
    const wf = compileOne({
      steps: [
        { id: "a", tool: "ta", compensate: { tool: "undo_a", args: { id: "{{steps.a.result.id}}" } } },
        { id: "b", tool: "tb", dependsOn: ["a"] },
        { id: "c", tool: "tc", dependsOn: ["b"] },
      ],
    });
    const inv = new FakeInvoker({ ta: () => json({ id: 1 }), tb: () => "hold" });
    const caller = new AbortController();
    const running = runWorkflow(wf, {}, { invoker: inv, signal: caller.signal });
    await vi.waitFor(() => expect(inv.held).toHaveLength(1));
    const stepSignal = inv.held[0]?.signal;
    caller.abort();
    const result = await running;
    expect(stepSignal?.aborted).toBe(true);
    expect(result.isError).toBe(true);
    expect(outcome(result).status).toBe("cancelled");
    expect(statuses(result)).toEqual({ a: "compensated", b: "cancelled", c: "skipped" });
    expect(outcome(result).trace[1]?.error).toBe("cancelled by the caller");
    expect(outcome(result).trace[2]?.reason).toBe("not run: cancelled by the caller");
    expect(outcome(result).compensated).toEqual(["a"]);
    expect(inv.tools()).toEqual(["ta", "tb", "undo_a"]);
    // The compensation ran with its own signal, not the caller's aborted one.
    expect(inv.calls[2]?.signal.aborted).toBe(false);
  });

  it("runs nothing when the caller already cancelled", async () => {
    const wf = compileOne({ steps: [{ id: "a", tool: "ta" }] });
    const inv = new FakeInvoker();
    const result = await runWorkflow(wf, {}, { invoker: inv, signal: AbortSignal.abort() });
    expect(outcome(result).status).toBe("cancelled");
    expect(inv.calls).toEqual([]);
  });
});

describe("runWorkflow: timeouts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fails a step whose call exceeds its timeoutMs, aborting the call's signal", async () => {
    const wf = compileOne({ steps: [{ id: "slow", tool: "hang", timeoutMs: 20 }] });
    const inv = new FakeInvoker({ hang: () => "hold" });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(inv.calls[0]?.signal.aborted).toBe(true);
    expect(outcome(result).status).toBe("failed");
    expect(outcome(result).failed).toEqual({ step: "slow", error: "hang timed out after 20 ms" });
    expect(statuses(result)).toEqual({ slow: "error" });
  });

  it("retries a timed-out attempt under onError retry", async () => {
    let n = 0;
    const wf = compileOne({ steps: [{ id: "slow", tool: "flaky", timeoutMs: 20, onError: { retry: 1 } }] });
    const inv = new FakeInvoker({ flaky: () => (++n === 1 ? "hold" : json("second")) });
    const result = await runWorkflow(wf, {}, { invoker: inv });
    expect(outcome(result)).toMatchObject({ status: "ok", output: "second" });
    expect(outcome(result).trace[0]?.attempts).toBe(2);
  });

  it("stops the whole workflow at its timeoutMs: in-flight steps cancelled, completed ones compensated", async () => {
    const wf = compileOne({
      timeoutMs: 30,
      steps: [
        { id: "a", tool: "ta", compensate: { tool: "undo_a" } },
        { id: "b", tool: "hang", dependsOn: ["a"] },
        { id: "c", tool: "tc", dependsOn: ["b"] },
      ],
    });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let started: () => void = () => undefined;
    const begun = new Promise<void>((resolve) => (started = resolve));
    const inv = new FakeInvoker({
      hang: () => {
        started();
        return "hold";
      },
    });
    const running = runWorkflow(wf, {}, { invoker: inv });
    await begun;
    await vi.advanceTimersByTimeAsync(30);
    const result = await running;
    expect(outcome(result).status).toBe("failed");
    expect(outcome(result).failed).toEqual({ step: "workflow", error: "workflow timed out after 30 ms" });
    expect(statuses(result)).toEqual({ a: "compensated", b: "cancelled", c: "skipped" });
    expect(inv.tools()).toEqual(["ta", "hang", "undo_a"]);
  });
});
