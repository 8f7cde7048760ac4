import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { follow } from "../../src/signals.js";

describe("follow (the scoped requests of a long-lived signal, downstream/pool.ts sendScoped)", () => {
  it("keeps one abort listener on a long-lived signal however many requests run under it", () => {
    const shutdown = new AbortController();
    const requests = Array.from({ length: 30 }, () => new AbortController());
    const unfollows = requests.map((c) => follow(shutdown.signal, c));
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(1);
    // Finished requests are no longer aborted by a later shutdown.
    for (const unfollow of unfollows.slice(0, 10)) unfollow();
    shutdown.abort(new Error("bye"));
    expect(requests.slice(0, 10).every((c) => !c.signal.aborted)).toBe(true);
    expect(
      requests.slice(10).every((c) => c.signal.aborted && (c.signal.reason as Error).message === "bye"),
    ).toBe(true);
  });
});
