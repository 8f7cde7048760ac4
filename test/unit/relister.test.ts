import { describe, expect, it } from "vitest";
import { Relister, type ListKind } from "../../src/downstream/listing.js";

/** A list function whose calls stay open until the test ends them. */
function lists() {
  const started: { kind: ListKind; end: () => void }[] = [];
  const list = (kind: ListKind) =>
    new Promise<void>((resolve) => {
      started.push({ kind, end: resolve });
    });
  return { started, list };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Relister (list_changed coalescing)", () => {
  it("one list in flight per kind, and one follow-up for everything that arrived meanwhile", async () => {
    const { started, list } = lists();
    const r = new Relister(list);
    for (let i = 0; i < 10_000; i++) void r.request("tools");
    await turn();
    expect(started.map((s) => s.kind)).toEqual(["tools"]);
    started[0]?.end();
    await turn();
    expect(started.map((s) => s.kind)).toEqual(["tools", "tools"]);
    started[1]?.end();
    await turn();
    expect(started).toHaveLength(2);
  });

  it("kinds are independent; no follow-up when nothing arrived during the list", async () => {
    const { started, list } = lists();
    const r = new Relister(list);
    const tools = r.request("tools");
    void r.request("prompts");
    void r.request("resources");
    await turn();
    expect(started.map((s) => s.kind)).toEqual(["tools", "prompts", "resources"]);
    for (const s of started) s.end();
    await tools;
    await turn();
    expect(started).toHaveLength(3);
    // A later notification starts a new list.
    void r.request("tools");
    await turn();
    expect(started.map((s) => s.kind)).toEqual(["tools", "prompts", "resources", "tools"]);
    started[3]?.end();
  });
});
