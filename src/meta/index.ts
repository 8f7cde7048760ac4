import type { Aggregator } from "../aggregator.js";
import { statusTool } from "./status.js";

/** Registers the aggregator's own tools; call before start() so the first catalog has them. */
export function registerMetaTools(agg: Aggregator): void {
  for (const tool of [statusTool(agg)]) agg.meta.set(tool.definition.name, tool);
  agg.rebuild();
}
