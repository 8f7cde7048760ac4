import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Catalog } from "../../catalog/catalog.js";

/**
 * The seam to a result cache shared by every replica (cluster mode, src/cluster/cache.ts). Entries are
 * grouped by server under a generation that every invalidation moves, so a read that overlapped a write
 * (on any replica) is not stored.
 */
export interface SharedCacheStore {
  /** The entry (if any) and the server's current generation: one round trip. */
  get(
    key: string,
    server: string,
  ): Promise<{ readonly result?: CallToolResult; readonly generation: string }>;
  /** Stores the entry for `ttlMs`, unless the server's generation is no longer `generation`. */
  set(key: string, server: string, result: CallToolResult, ttlMs: number, generation: string): Promise<void>;
  /** Drops every entry of the server and moves its generation. */
  invalidate(server: string): Promise<void>;
}

const memo = new WeakMap<Catalog, ReadonlySet<string>>();

/** The servers with at least one cached tool in `catalog` (computed once per catalog). */
export function cachedServers(catalog: Catalog): ReadonlySet<string> {
  let servers = memo.get(catalog);
  if (!servers) {
    const found = new Set<string>();
    for (const target of catalog.tools.values())
      if (target.kind === "downstream" && target.route.policy.cacheTtlMs > 0) found.add(target.route.server);
    memo.set(catalog, (servers = found));
  }
  return servers;
}
