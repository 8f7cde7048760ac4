import type { TemplateRef } from "./template.js";

/** A node and the ids it depends on (edges point from a node to what must finish before it). */
export interface GraphNode {
  readonly id: string;
  readonly deps: readonly string[];
}

/** Step ids a step depends on: the explicit `dependsOn` plus every `steps.<id>` its templates reference. */
export function dependencyIds(refs: readonly TemplateRef[], dependsOn: readonly string[]): string[] {
  const ids = new Set(dependsOn);
  for (const r of refs) if (r.root === "steps" && r.step !== undefined) ids.add(r.step);
  return [...ids];
}

export interface Cycle {
  /** Every node of the strongly connected component (all of them are on some cycle). */
  readonly members: readonly string[];
  /** One concrete cycle for messages, closed: `["a", "b", "a"]`. */
  readonly path: readonly string[];
}

/**
 * Groups of nodes that lie on a cycle (strongly connected components with more than one node, or a node
 * depending on itself). Unknown dependency ids are ignored. Tarjan's algorithm, iterative so a long chain
 * cannot overflow the stack.
 */
export function findCycles(nodes: readonly GraphNode[]): Cycle[] {
  const deps = new Map(nodes.map((n) => [n.id, n.deps]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of nodes) {
    if (index.has(root.id)) continue;
    const work: { id: string; next: number }[] = [{ id: root.id, next: 0 }];
    index.set(root.id, counter);
    low.set(root.id, counter++);
    stack.push(root.id);
    onStack.add(root.id);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = (deps.get(frame.id) ?? []).filter((d) => deps.has(d));
      if (frame.next < out.length) {
        const d = out[frame.next++]!;
        if (!index.has(d)) {
          index.set(d, counter);
          low.set(d, counter++);
          stack.push(d);
          onStack.add(d);
          work.push({ id: d, next: 0 });
        } else if (onStack.has(d)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(d)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let top: string;
        do {
          top = stack.pop()!;
          onStack.delete(top);
          component.push(top);
        } while (top !== frame.id);
        const selfLoop = (deps.get(frame.id) ?? []).includes(frame.id);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((c) => ({ members: c, path: cyclePath(c, deps) }));
}

/** A concrete cycle through the component's first node (in definition order), closed back on itself. */
function cyclePath(component: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component);
  const start = [...deps.keys()].find((id) => members.has(id))!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const d of deps.get(id) ?? []) {
      if (!members.has(d)) continue;
      if (d === start) {
        const path = [start];
        for (let at: string | undefined = id; at !== undefined && at !== start; at = prev.get(at))
          path.splice(1, 0, at);
        return [...path, start];
      }
      if (!prev.has(d)) {
        prev.set(d, id);
        queue.push(d);
      }
    }
  }
  return [start, start];
}

/**
 * Topological layers: level 0 has no dependencies, level n depends only on earlier levels. Ids keep
 * definition order inside a level. Nodes on cycles (or depending on them) are left out.
 */
export function topologicalLevels(nodes: readonly GraphNode[]): string[][] {
  const levelOf = new Map<string, number>();
  const levels: string[][] = [];
  let remaining = nodes.map((n) => ({ id: n.id, deps: n.deps.filter((d) => nodes.some((m) => m.id === d)) }));
  while (remaining.length > 0) {
    const ready = remaining.filter((n) => n.deps.every((d) => levelOf.has(d)));
    if (ready.length === 0) break;
    for (const n of ready) levelOf.set(n.id, Math.max(-1, ...n.deps.map((d) => levelOf.get(d)!)) + 1);
    for (const n of ready) (levels[levelOf.get(n.id)!] ??= []).push(n.id);
    remaining = remaining.filter((n) => !levelOf.has(n.id));
  }
  return levels;
}

/** Transitive dependencies of every node (unknown ids ignored; safe on cycles). */
export function ancestorsOf(nodes: readonly GraphNode[]): Map<string, Set<string>> {
  const deps = new Map(nodes.map((n) => [n.id, n.deps]));
  const result = new Map<string, Set<string>>();
  for (const n of nodes) {
    const seen = new Set<string>();
    const todo = [...n.deps];
    while (todo.length > 0) {
      const d = todo.pop()!;
      if (seen.has(d) || !deps.has(d)) continue;
      seen.add(d);
      todo.push(...(deps.get(d) ?? []));
    }
    result.set(n.id, seen);
  }
  return result;
}
