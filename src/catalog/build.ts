import type { Config, ResolvedServer } from "../config/load.js";
import type { DownstreamConnection } from "../downstream/connection.js";
import type { DownstreamCatalog } from "../downstream/listing.js";
import type { BuiltinProfile } from "../profiles/index.js";
import { absentServers } from "../startup.js";
import { Catalog, type BuiltinTool, type CatalogSource } from "./catalog.js";
import type { CatalogServerView, ToolOverrideView } from "./policy.js";

/** The per-server settings the catalog reads, with the server's built-in safety profile. */
export function catalogView(
  server: ResolvedServer,
  profile: Readonly<Record<string, ToolOverrideView>> | undefined,
): CatalogServerView {
  return {
    name: server.name,
    prefix: server.prefix,
    trustAnnotations: server.trustAnnotations,
    readOnly: server.readOnly,
    timeoutMs: server.timeoutMs,
    totalTimeoutMs: server.totalTimeoutMs,
    tools: server.tools,
    profile,
  };
}

/** The catalog from the servers' lists (`own(server)`, when set, replaces a template connection's list). */
export function buildCatalog(from: {
  readonly connections: readonly DownstreamConnection[];
  readonly serverOf: (name: string) => ResolvedServer | undefined;
  readonly profileOf: (server: ResolvedServer) => BuiltinProfile | undefined;
  readonly own: (server: string) => DownstreamCatalog | undefined;
  readonly builtins: readonly BuiltinTool[];
  readonly config: Config;
  /** Every configured server: those without a listed catalog become the catalog's absent names. */
  readonly servers: Iterable<ResolvedServer>;
  readonly connectionOf: (name: string) => DownstreamConnection | undefined;
}): Catalog {
  const sources: CatalogSource[] = [];
  const order = Object.keys(from.config.mcpServers); // settles equal claims to a name (ADR 0001)
  for (const connection of from.connections) {
    const server = from.serverOf(connection.name);
    if (!server) continue;
    sources.push({
      server: catalogView(server, from.profileOf(server)?.tools),
      catalog: from.own(connection.name) ?? connection.catalog,
      order: order.indexOf(server.name),
    });
  }
  const config = from.config;
  return new Catalog(sources, from.builtins, {
    separator: config.namespaceSeparator,
    maxLength: config.maxToolNameLength,
    readOnly: config.readOnly,
    exposure: config.exposure,
    absent: absentServers(from.servers, from.connectionOf, (s) => from.profileOf(s)?.tools),
  });
}
