import type { Catalog } from "../catalog/catalog.js";
import { Telemetry, type PayloadSettings } from "./telemetry.js";

/** What the labels and payload settings are read from (the Aggregator; read lazily, per use). */
export interface TelemetrySource {
  catalog(): Catalog;
  readonly config: { readonly config: { readonly telemetry: PayloadSettings } };
}

/**
 * The aggregator's Telemetry (off until serve turns tracing or metrics on). Tool labels are bounded by
 * the current catalog: a public name it resolves, or a (server, tool) pair it routes to; anything else
 * is "other" in the metrics.
 */
export function catalogTelemetry(source: TelemetrySource): Telemetry {
  const current = (): Catalog => source.catalog();
  // Built once per catalog (catalogs are replaced whole), on the first lookup after a change.
  const routed = new WeakMap<Catalog, ReadonlyMap<string, ReadonlySet<string>>>();
  const routesOf = (catalog: Catalog): ReadonlyMap<string, ReadonlySet<string>> => {
    let byServer = routed.get(catalog);
    if (!byServer) {
      const built = new Map<string, Set<string>>();
      for (const target of catalog.tools.values()) {
        if (target.kind !== "downstream") continue;
        const { server, originalName } = target.route;
        let names = built.get(server);
        if (!names) built.set(server, (names = new Set()));
        names.add(originalName);
      }
      routed.set(catalog, (byServer = built));
    }
    return byServer;
  };
  return new Telemetry({
    payloads: () => source.config.config.telemetry,
    knownTool: (name) => current().resolveTool(name) !== undefined,
    knownServerTool: (server, tool) => routesOf(current()).get(server)?.has(tool) === true,
  });
}
