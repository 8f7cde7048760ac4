import type { Aggregator } from "../aggregator.js";
import { DISABLED_REASON } from "../config/resolve.js";
import { callToolTool, catalogIndex, searchToolsTool, type NotSearched } from "./search.js";
import { statusTool } from "./status.js";

/** Registers the aggregator's own tools; call before start() so the first catalog has them. */
export function registerMetaTools(agg: Aggregator): void {
  const tools = [
    statusTool(agg),
    searchToolsTool({ index: catalogIndex(() => agg.catalog()), notSearched: () => notSearched(agg) }),
    callToolTool({ call: (name, args, origin) => agg.router.callTool(name, args, origin) }),
  ];
  for (const tool of tools) agg.meta.set(tool.definition.name, tool);
  agg.rebuild();
}

/** The configured servers whose tools are not in the catalog, and why (for search_tools' note). */
function notSearched(agg: Aggregator): NotSearched[] {
  const s = agg.summary();
  return [
    ...s.skipped.map((x) =>
      x.reason === DISABLED_REASON
        ? { server: x.name, state: "disabled", reason: x.reason }
        : { server: x.name, state: "skipped", reason: x.reason },
    ),
    ...s.failed.map((x) => ({ server: x.name, state: "failed", reason: x.reason })),
    ...s.starting.map((name) => ({ server: name, state: "starting", reason: "still starting" })),
  ];
}
