import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { tieToSignal } from "../../src/downstream/pool.js";
import { CallCancel } from "../../src/pipeline/cancel.js";

describe("tieToSignal", () => {
  it("keeps one abort listener on a long-lived signal however many requests run under it", () => {
    const shutdown = new AbortController();
    const cancels = Array.from({ length: 30 }, () => new CallCancel());
    const unties = cancels.map((c) => tieToSignal(shutdown.signal, c));
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(1);
    // Finished requests are no longer aborted by a later shutdown.
    for (const untie of unties.slice(0, 10)) untie();
    shutdown.abort(new Error("bye"));
    expect(cancels.slice(0, 10).every((c) => !c.aborted)).toBe(true);
    expect(cancels.slice(10).every((c) => c.aborted && (c.reason as Error).message === "bye")).toBe(true);
  });
});
