import type { Client } from "@modelcontextprotocol/client";
import type {
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  ServerCapabilities,
  Tool,
} from "@modelcontextprotocol/client";
import { PassThroughResult } from "../jsonrpc/passThrough.js";

export interface DownstreamCatalog {
  readonly tools: readonly Tool[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

export const EMPTY_CATALOG: DownstreamCatalog = Object.freeze({
  tools: [],
  resources: [],
  resourceTemplates: [],
  prompts: [],
});

const MAX_PAGES = 1_000;

/** Follows nextCursor until the list ends. Items are kept as the server sent them. */
async function listAll<T>(client: Client, method: string, key: string, timeout: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = (await client.request(
      { method, params: cursor === undefined ? {} : { cursor } } as never,
      PassThroughResult,
      { timeout },
    )) as Record<string, unknown>;
    const pageItems = result[key];
    if (Array.isArray(pageItems)) items.push(...(pageItems as T[]));
    const next = result["nextCursor"];
    if (typeof next !== "string" || next.length === 0 || next === cursor) break;
    cursor = next;
  }
  return items;
}

/** The lists a `notifications/<kind>/list_changed` invalidates. */
export type ListKind = "tools" | "resources" | "prompts";

/** Lists one kind (resources include their templates), asking only for what the capabilities announce. */
export async function fetchKind(
  client: Client,
  capabilities: ServerCapabilities | undefined,
  kind: ListKind,
  timeout: number,
): Promise<Partial<DownstreamCatalog>> {
  switch (kind) {
    case "tools":
      return {
        tools: capabilities?.tools ? await listAll<Tool>(client, "tools/list", "tools", timeout) : [],
      };
    case "prompts":
      return {
        prompts: capabilities?.prompts
          ? await listAll<Prompt>(client, "prompts/list", "prompts", timeout)
          : [],
      };
    case "resources": {
      if (!capabilities?.resources) return { resources: [], resourceTemplates: [] };
      const [resources, resourceTemplates] = await Promise.all([
        listAll<Resource>(client, "resources/list", "resources", timeout),
        listAll<ResourceTemplate>(client, "resources/templates/list", "resourceTemplates", timeout).catch(
          () => [],
        ),
      ]);
      return { resources, resourceTemplates };
    }
  }
}

/** Lists what a server offers, asking only for what its capabilities announce. */
export async function fetchCatalog(
  client: Client,
  capabilities: ServerCapabilities | undefined,
  timeout: number,
): Promise<DownstreamCatalog> {
  const parts = await Promise.all(
    (["tools", "resources", "prompts"] as const).map((kind) =>
      fetchKind(client, capabilities, kind, timeout),
    ),
  );
  return { ...EMPTY_CATALOG, ...parts[0], ...parts[1], ...parts[2] };
}

/**
 * Re-lists after list_changed without a list per notification: at most one list of a kind in flight, and at
 * most one more after it when notifications of that kind arrived meanwhile (the follow-up sees them all).
 */
export class Relister {
  private readonly running = new Map<ListKind, Promise<void>>();
  private readonly again = new Set<ListKind>();

  /** `list` never rejects (it logs its own failures). */
  constructor(private readonly list: (kind: ListKind) => Promise<void>) {}

  request(kind: ListKind): Promise<void> {
    const current = this.running.get(kind);
    if (current) {
      this.again.add(kind);
      return current;
    }
    const run = this.loop(kind);
    this.running.set(kind, run);
    return run;
  }

  private async loop(kind: ListKind): Promise<void> {
    try {
      do {
        this.again.delete(kind);
        await this.list(kind);
      } while (this.again.has(kind));
    } finally {
      this.running.delete(kind);
    }
  }
}

/** True when two listings are the same (a restart that brings back the same tools sends no list_changed). */
export function sameCatalog(a: DownstreamCatalog, b: DownstreamCatalog): boolean {
  return (
    JSON.stringify(a.tools) === JSON.stringify(b.tools) &&
    JSON.stringify(a.resources) === JSON.stringify(b.resources) &&
    JSON.stringify(a.resourceTemplates) === JSON.stringify(b.resourceTemplates) &&
    JSON.stringify(a.prompts) === JSON.stringify(b.prompts)
  );
}
