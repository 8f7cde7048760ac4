import type { Aggregator } from "../aggregator.js";
import type { MetaTool } from "./types.js";
import { DISABLED_REASON } from "../config/resolve.js";
import { callToolTool, catalogIndex, searchToolsTool, type NotSearched } from "./search.js";
import { statusTool } from "./status.js";

/** The aggregator's own tools (status, search_tools, call_tool), made while it is built (src/compose.ts). */
export function metaTools(agg: Aggregator): MetaTool[] {
  return [
    statusTool(agg),
    searchToolsTool({ index: catalogIndex(() => agg.catalog()), notSearched: () => notSearched(agg) }),
    callToolTool({ call: (name, args, origin) => agg.router.callTool(name, args, origin) }),
  ];
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
