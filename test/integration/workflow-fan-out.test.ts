import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, expectToolError, fault, startAggregator, type Agg } from "../helpers/resilience.js";

/** run_workflow's fan-out is bounded (docs/workflows.md, "Fan-out limits"), checked through the real CLI. */
describe("workflows: fan-out limits through run_workflow", () => {
  let agg: Agg;

  beforeAll(async () => {
    agg = await startAggregator(
      { fault: fault() },
      { top: { workflowLimits: { maxForEachItems: 100, maxCallsPerRun: 1_000, maxInFlightPerRun: 4 } } },
    );
  }, 30_000);

  afterAll(async () => {
    await agg?.close();
  });

  it("a literal 20,000-item forEach is refused before any call reaches the server", async () => {
    const r = await agg.call("run_workflow", {
      workflow: {
        steps: [
          {
            id: "each",
            tool: "fault_echo",
            forEach: Array.from({ length: 20_000 }, (_, i) => i),
            args: { message: "{{item}}" },
          },
        ],
      },
    });
    expectToolError(
      r,
      /^run_workflow: step "each": forEach has 20000 items; a forEach may iterate at most 100 \(workflowLimits\.maxForEachItems\); nothing was called$/,
    );
    expect(agg.received("fault", "echo")).toBe(0);
  });

  it("a forEach within the limit runs every item", async () => {
    const r = await agg.call("run_workflow", {
      workflow: {
        steps: [
          {
            id: "each",
            tool: "fault_echo",
            forEach: Array.from({ length: 100 }, (_, i) => `m${i}`),
            forEachConcurrency: 64,
            args: { message: "{{item}}" },
          },
        ],
      },
    });
    expectOk(r);
    expect(agg.received("fault", "echo")).toBe(100);
  });
});
