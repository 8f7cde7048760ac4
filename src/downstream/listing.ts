import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type {
  Prompt,
  Resource,
  ResourceTemplate,
  ServerCapabilities,
  Tool,
} from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";

/** Accepts any object and keeps every key: we forward downstream payloads verbatim. */
export const LooseResult = z.looseObject({});

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
      LooseResult,
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

/** Lists what a server offers, asking only for what its capabilities announce. */
export async function fetchCatalog(
  client: Client,
  capabilities: ServerCapabilities | undefined,
  timeout: number,
): Promise<DownstreamCatalog> {
  const [tools, resources, resourceTemplates, prompts] = await Promise.all([
    capabilities?.tools ? listAll<Tool>(client, "tools/list", "tools", timeout) : [],
    capabilities?.resources ? listAll<Resource>(client, "resources/list", "resources", timeout) : [],
    capabilities?.resources
      ? listAll<ResourceTemplate>(client, "resources/templates/list", "resourceTemplates", timeout).catch(
          () => [],
        )
      : [],
    capabilities?.prompts ? listAll<Prompt>(client, "prompts/list", "prompts", timeout) : [],
  ]);
  return { tools: tools.filter(isNamed), resources, resourceTemplates, prompts: prompts.filter(isNamed) };
}

function isNamed(item: { name?: unknown }): boolean {
  return typeof item.name === "string" && item.name.length > 0;
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
