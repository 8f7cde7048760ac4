import { Aggregator, type AggregatorOptions } from "./aggregator.js";
import type { LoadedConfig } from "./config/load.js";
import { metaTools } from "./meta/index.js";
import { createWorkflows } from "./workflows/register.js";

/**
 * The composition root: one aggregator, built once from its collaborators — the pool, catalog, pipeline
 * and router it makes itself, and the parts that call back into it (the meta-tools, the workflow host and
 * its `run_workflow` tool), handed in as a factory so nothing is assigned after construction.
 */
export function createAggregator(
  loaded: LoadedConfig,
  options: Omit<AggregatorOptions, "extensions"> & {
    /** Without the meta-tools and workflows (`doctor` checks only the servers). */
    readonly serversOnly?: boolean;
  },
): Aggregator {
  const { serversOnly, ...rest } = options;
  if (serversOnly) return new Aggregator(loaded, rest);
  return new Aggregator(loaded, {
    ...rest,
    extensions: (agg) => {
      const workflows = createWorkflows(agg, loaded, rest.log);
      return { meta: [...metaTools(agg), workflows.tool], workflows: workflows.host };
    },
  });
}
