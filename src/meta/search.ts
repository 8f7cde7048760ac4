import { ProtocolErrorCode, ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import type { Catalog } from "../catalog/catalog.js";
import type { CallOrigin } from "../front/backend.js";
import { errorResult } from "../front/errorMap.js";
import { schemaLine } from "./schemaText.js";
import { ToolIndex, type ToolIndexEntry } from "./toolIndex.js";
import type { MetaTool } from "./types.js";
import { textAndStructured } from "./types.js";

export { parameterText, stem, tokenize, ToolIndex } from "./toolIndex.js";
export type { ToolIndexEntry, ToolMatch } from "./toolIndex.js";

/** The search meta-tools: search_tools (ranked lookup over the whole catalog) and call_tool (call by name). */

const SELF = new Set(["search_tools", "call_tool"]);

/** Every callable tool of a catalog (listed or not) except search_tools and call_tool themselves. */
export function indexEntriesOf(catalog: Catalog): ToolIndexEntry[] {
  const entries: ToolIndexEntry[] = [];
  for (const [name, target] of catalog.tools) {
    if (target.kind === "meta" && SELF.has(target.name)) continue;
    const def = target.definition;
    entries.push({
      name,
      title: def.title ?? def.annotations?.title,
      description: def.description,
      server: target.kind === "downstream" ? target.route.server : target.kind,
      inputSchema: def.inputSchema as Record<string, unknown>,
    });
  }
  return entries;
}

/**
 * `() => ToolIndex` for searchToolsTool: one index per catalog object, built on the first search after
 * the catalog was replaced (once per change, never per query; none while nobody searches).
 */
export function catalogIndex(catalog: () => Catalog): () => ToolIndex {
  const built = new WeakMap<Catalog, ToolIndex>();
  return () => {
    const current = catalog();
    let index = built.get(current);
    if (!index) built.set(current, (index = new ToolIndex(indexEntriesOf(current))));
    return index;
  };
}

const MAX_LIMIT = 50;
const DEFAULT_LIMIT = 10;

/** A configured server whose tools a search cannot find, and why. */
export interface NotSearched {
  readonly server: string;
  /** skipped, disabled, failed or starting */
  readonly state: string;
  readonly reason: string;
}

/** Longest failure reason quoted in the note (the status tool has the whole message). */
const MAX_REASON = 120;

/** `github (skipped: set GITHUB_PERSONAL_ACCESS_TOKEN)`, `slow (still starting)`. */
function notSearchedText(n: NotSearched): string {
  if (n.state === "starting") return `${n.server} (still starting: its tools join when it is ready)`;
  if (n.state === "disabled") return `${n.server} (disabled in the config)`;
  const reason = n.reason.length > MAX_REASON ? `${n.reason.slice(0, MAX_REASON - 1)}…` : n.reason;
  return `${n.server} (${n.state}: ${reason})`;
}

export function searchToolsTool(deps: {
  readonly index: () => ToolIndex;
  /** Configured servers whose tools are not in the index (skipped, disabled, failed, still starting). */
  readonly notSearched?: () => readonly NotSearched[];
}): MetaTool {
  return {
    definition: {
      name: "search_tools",
      title: "Search tools",
      description:
        'Find tools by what they do, across every MCP server behind autonomous-mcp, including tools not shown in the tool list and tools of servers that joined late. Describe the task in a few words (e.g. "create github issue", "find a person", "trello cards in a list"); returns the best matches, each with its input schema. Then call a match directly if it is listed, otherwise through call_tool with its exact name.',
      inputSchema: {
        type: "object",
        properties: {
          query: { type: "string", description: "Keywords describing the task or tool." },
          limit: {
            type: "integer",
            minimum: 1,
            maximum: MAX_LIMIT,
            description: `Most results to return (1..${MAX_LIMIT}). Default ${DEFAULT_LIMIT}.`,
          },
        },
        required: ["query"],
      },
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    call: async (args) => {
      const { query, limit = DEFAULT_LIMIT } = args;
      if (typeof query !== "string" || query.trim() === "") {
        return errorResult('search_tools: "query" must be a non-empty string of keywords');
      }
      if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        return errorResult(`search_tools: "limit" must be a whole number from 1 to ${MAX_LIMIT}`);
      }
      const results = deps
        .index()
        .search(query, limit)
        .map((m) => ({
          name: m.name,
          server: m.server,
          description: m.description ?? "",
          score: Math.round(m.score * 1000) / 1000,
          inputSchema: m.inputSchema,
        }));
      const found =
        results.length === 0
          ? `No tools match "${query}". Try other or fewer keywords.`
          : results
              .map((r) => `${r.name} — ${firstSentence(r.description)}\n  ${schemaLine(r.inputSchema)}`)
              .join("\n");
      // A search for "create github issue" with GitHub skipped says why nothing of GitHub's shows up.
      const absent = deps.notSearched?.() ?? [];
      const text =
        absent.length === 0 ? found : `${found}\n\nNot searched: ${absent.map(notSearchedText).join("; ")}`;
      return textAndStructured(text, {
        query,
        results,
        ...(absent.length === 0 ? {} : { notSearched: absent }),
      });
    },
  };
}

type Call = (name: string, args: Record<string, unknown>, origin: CallOrigin) => Promise<CallToolResult>;

export function callToolTool(deps: { readonly call: Call }): MetaTool {
  return {
    definition: {
      name: "call_tool",
      title: "Call a tool by name",
      description:
        "Call any tool of autonomous-mcp by its exact name, including tools not shown in the tool list. Find the name and its input schema with search_tools first; pass the tool's arguments in `arguments`.",
      inputSchema: {
        type: "object",
        properties: {
          name: { type: "string", description: "Exact tool name, as returned by search_tools." },
          arguments: { type: "object", description: "Arguments of that tool, matching its input schema." },
        },
        required: ["name"],
      },
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    },
    call: async (args, origin) => {
      const { name, arguments: toolArgs = {} } = args;
      if (typeof name !== "string" || name === "") {
        return errorResult('call_tool: "name" must be a tool name; find one with search_tools');
      }
      if (typeof toolArgs !== "object" || toolArgs === null || Array.isArray(toolArgs)) {
        return errorResult('call_tool: "arguments" must be an object');
      }
      try {
        return await deps.call(name, toolArgs as Record<string, unknown>, origin);
      } catch (error) {
        if (error instanceof ProtocolError && error.code === ProtocolErrorCode.InvalidParams) {
          return errorResult(
            `call_tool: ${error.message.replace(/^MCP error -?\d+: /, "")}. Use search_tools to find the right tool name.`,
          );
        }
        throw error;
      }
    },
  };
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const end = flat.search(/[.!?](?:\s|$)/);
  const sentence = end === -1 ? flat : flat.slice(0, end + 1);
  return sentence.length > 160 ? `${sentence.slice(0, 157)}...` : sentence || "(no description)";
}
