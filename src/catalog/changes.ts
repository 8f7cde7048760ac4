import type { Catalog } from "./catalog.js";

/** Which lists differ between two catalogs (clients are told only about real changes). */
export function catalogChanges(
  before: Catalog,
  next: Catalog,
): { tools: boolean; resources: boolean; prompts: boolean } {
  const a = listKeys(before);
  const b = listKeys(next);
  return {
    tools: a.tools !== b.tools,
    resources: a.resources !== b.resources,
    prompts: a.prompts !== b.prompts,
  };
}

/** Each catalog's lists serialised once (a rebuild compares the new catalog with the previous one). */
const keys = new WeakMap<Catalog, { tools: string; resources: string; prompts: string }>();
function listKeys(c: Catalog): { tools: string; resources: string; prompts: string } {
  let k = keys.get(c);
  if (!k) {
    k = {
      tools: JSON.stringify(c.toolList),
      resources: JSON.stringify([c.resourceList, c.templateList]),
      prompts: JSON.stringify(c.promptList),
    };
    keys.set(c, k);
  }
  return k;
}

/**
 * Tells every session which lists changed between two catalogs, and `publish` (the 2026-07-28 clients'
 * event bus) too when given; nothing is compared when nobody listens.
 */
export function notifyListChanges(
  before: Catalog,
  next: Catalog,
  sessions: readonly { notifyListChanged(kind: "tools" | "resources" | "prompts"): void }[],
  publish?: (changed: { tools: boolean; resources: boolean; prompts: boolean }) => void,
): void {
  // Nobody to tell (start-up: sessions open after initialize): no comparison of the lists at all.
  if (sessions.length === 0 && publish === undefined) return;
  const changed = catalogChanges(before, next);
  publish?.(changed);
  for (const session of sessions) {
    if (changed.tools) session.notifyListChanged("tools");
    if (changed.resources) session.notifyListChanged("resources");
    if (changed.prompts) session.notifyListChanged("prompts");
  }
}
