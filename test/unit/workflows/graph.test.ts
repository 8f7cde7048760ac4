import { describe, expect, it } from "vitest";
import { ancestorsOf, dependencyIds, findCycles, topologicalLevels } from "../../../src/workflows/graph.js";

describe("graph", () => {
  const nodes = [
    { id: "a", deps: [] },
    { id: "b", deps: [] },
    { id: "c", deps: ["a", "b"] },
    { id: "d", deps: ["a"] },
    { id: "e", deps: ["c", "d"] },
  ];

  it("layers steps topologically, keeping definition order inside a layer", () => {
    expect(topologicalLevels(nodes)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });

  it("lists transitive dependencies", () => {
    expect([...(ancestorsOf(nodes).get("e") ?? [])].sort()).toEqual(["a", "b", "c", "d"]);
  });

  it("finds cycles with a readable path, including self-loops", () => {
    expect(findCycles(nodes)).toEqual([]);
    const cyclic = [
      { id: "x", deps: ["z"] },
      { id: "y", deps: ["x"] },
      { id: "z", deps: ["y"] },
      { id: "s", deps: ["s"] },
      { id: "ok", deps: ["x"] },
    ];
    const cycles = findCycles(cyclic);
    expect(cycles.map((c) => [...c.members].sort())).toEqual([["x", "y", "z"], ["s"]]);
    expect(cycles.map((c) => c.path)).toEqual([
      ["x", "z", "y", "x"],
      ["s", "s"],
    ]);
    expect(topologicalLevels(cyclic)).toEqual([]);
  });

  it("derives dependencies from step references and dependsOn", () => {
    const refs = [
      { root: "steps" as const, step: "a", path: [], source: "{{steps.a.result}}" },
      { root: "input" as const, path: ["x"], source: "{{input.x}}" },
    ];
    expect(dependencyIds(refs, ["b", "a"])).toEqual(["b", "a"]);
  });
});
