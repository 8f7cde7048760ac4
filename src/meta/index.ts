import type { Aggregator } from "../aggregator.js";
import { callToolTool, catalogIndex, searchToolsTool } from "./search.js";
import { statusTool } from "./status.js";

/** Registers the aggregator's own tools; call before start() so the first catalog has them. */
export function registerMetaTools(agg: Aggregator): void {
  const tools = [
    statusTool(agg),
    searchToolsTool({ index: catalogIndex(() => agg.catalog()) }),
    callToolTool({ call: (name, args, origin) => agg.router.callTool(name, args, origin) }),
  ];
  for (const tool of tools) agg.meta.set(tool.definition.name, tool);
  agg.rebuild();
}
