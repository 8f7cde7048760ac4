import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { searchToolsTool, ToolIndex, type ToolIndexEntry } from "../../src/meta/search.js";
import type { CallOrigin } from "../../src/front/backend.js";
import {
  closeStdioClient,
  realServerEntry,
  withTempHome,
  type RealServerName,
} from "../helpers/real-servers.js";

/**
 * search_tools over a realistic catalog: the real tool lists (names, titles, descriptions, input schemas)
 * of server-memory, server-github, Trello and Postman, listed from the installed packages.
 */
const SERVERS: RealServerName[] = ["memory", "github", "trello", "postman"];

async function listTools(name: RealServerName, home: string): Promise<Tool[]> {
  const entry = realServerEntry(name, { home });
  const transport = new StdioClientTransport({ ...entry, stderr: "ignore" });
  const client = new Client({ name: "search-ranking-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  } finally {
    await closeStdioClient(client, transport);
  }
}

let entries: ToolIndexEntry[] = [];
let index: ToolIndex;
let cleanup: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  const temp = await withTempHome();
  cleanup = temp.cleanup;
  const lists = await Promise.all(SERVERS.map((s) => listTools(s, temp.home)));
  entries = SERVERS.flatMap((server, i) =>
    (lists[i] ?? []).map((t) => ({
      name: `${server}_${t.name}`,
      title: t.title ?? t.annotations?.title,
      description: t.description,
      server,
      inputSchema: t.inputSchema as Record<string, unknown>,
    })),
  );
  index = new ToolIndex(entries);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

const top = (query: string, n = 5): string[] => index.search(query, n).map((m) => m.name);

const origin: CallOrigin = {
  sessionId: "s1",
  signal: new AbortController().signal,
  clientCapabilities: undefined,
};

describe("search over the real catalogs of memory, github, trello and postman", () => {
  it("indexes every tool of the four servers", () => {
    expect(index.size).toBe(entries.length);
    for (const server of SERVERS)
      expect(entries.filter((e) => e.server === server).length).toBeGreaterThan(5);
  });

  it('"find a person" finds memory\'s node lookups and the people tools of github and trello', () => {
    const found = top("find a person", 8);
    expect(found.some((n) => n === "memory_open_nodes" || n === "memory_search_nodes")).toBe(true);
    expect(found).toContain("github_search_users");
    expect(found).toContain("trello_get_board_members");
  });

  it("ranks the obvious tool first for natural-language requests", () => {
    const cases: [string, string][] = [
      ["create github issue", "github_create_issue"],
      ["move card to another list", "trello_move_card"],
      ["pr review", "github_create_pull_request_review"],
      ["delete entity", "memory_delete_entities"],
      ["knowledge graph", "memory_read_graph"],
      ["who is assigned to the card", "trello_assign_member_to_card"],
      ["run a collection", "postman_runCollection"],
      ["list my boards", "trello_list_boards"],
      ["search_nodes", "memory_search_nodes"],
    ];
    for (const [query, expected] of cases) expect([query, top(query, 1)[0]]).toEqual([query, expected]);
  });

  it("tolerates typos (fuzzy) and partial words (prefix)", () => {
    expect(top("isue comment", 5)).toContain("github_add_issue_comment");
    expect(top("isue", 3).every((n) => n.startsWith("github_") && n.includes("issue"))).toBe(true);
    expect(top("repostory", 3)).toEqual(
      expect.arrayContaining(["github_create_repository", "github_search_repositories"]),
    );
    expect(top("repo", 10)).toContain("github_create_repository");
  });

  it("matches parameter names and descriptions", () => {
    // "issue_number" is a parameter of github's get/update/comment tools, in no name or description.
    expect(top("issue number", 3)).toEqual(
      expect.arrayContaining(["github_get_issue", "github_update_issue", "github_add_issue_comment"]),
    );
    // memory's add_observations takes {observations: [{entityName, contents}]}.
    expect(top("remember that Ada is an engineer", 4)).toEqual(
      expect.arrayContaining(["memory_add_observations", "memory_create_entities"]),
    );
  });

  it("search_tools puts every hit's input schema in the text content as compact JSON", async () => {
    const tool = searchToolsTool({ index: () => index });
    const result = (await tool.call({ query: "create github issue", limit: 3 }, origin)) as CallToolResult;
    const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^github_create_issue — Create a new issue/);
    const schema = lines[1]?.replace(/^ {2}input: /, "") ?? "";
    expect(JSON.parse(schema)).toEqual(entries.find((e) => e.name === "github_create_issue")?.inputSchema);
    // A schema over the per-hit bound is shortened (or cut) and says where the whole one is.
    const long = await tool.call({ query: "search postman elements", limit: 1 }, origin);
    const longText = long.content.map((c) => (c.type === "text" ? c.text : "")).join("");
    expect(longText).toMatch(/^postman_searchPostmanElements — /);
    expect(longText).toMatch(/input \((shortened|cut at \d+ characters)[^)]*structuredContent/);
    expect(longText.length).toBeLessThan(2_000);
  });
});
