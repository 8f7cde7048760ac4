import { describe, expect, it } from "vitest";
import { ProtocolErrorCode, ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import type { CallOrigin } from "../../src/front/backend.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { boundedJson, schemaLine } from "../../src/meta/schemaText.js";
import {
  callToolTool,
  catalogIndex,
  parameterText,
  searchToolsTool,
  stem,
  tokenize,
  ToolIndex,
  type ToolIndexEntry,
} from "../../src/meta/search.js";

const schema = { type: "object", properties: {} };

function tools(server: string, prefix: string, list: [string, string][]): ToolIndexEntry[] {
  return list.map(([name, description]) => ({
    name: `${prefix}${name}`,
    server,
    description,
    inputSchema: schema,
  }));
}

const CATALOG: ToolIndexEntry[] = [
  ...tools("github", "github_", [
    ["create_issue", "Create a new issue in a GitHub repository"],
    ["get_issue", "Get details of a specific issue in a GitHub repository."],
    ["list_issues", "List issues in a GitHub repository with filtering options"],
    ["update_issue", "Update an existing issue in a GitHub repository"],
    ["add_issue_comment", "Add a comment to an existing issue"],
    ["search_issues", "Search for issues and pull requests across GitHub repositories"],
    ["search_repositories", "Search for GitHub repositories"],
    ["search_code", "Search for code across GitHub repositories"],
    ["search_users", "Search for users on GitHub"],
    ["create_repository", "Create a new GitHub repository in your account"],
    ["fork_repository", "Fork a GitHub repository to your account or specified organization"],
    ["get_file_contents", "Get the contents of a file or directory from a GitHub repository"],
    ["create_or_update_file", "Create or update a single file in a GitHub repository"],
    ["push_files", "Push multiple files to a GitHub repository in a single commit"],
    ["create_branch", "Create a new branch in a GitHub repository"],
    ["list_commits", "Get list of commits of a branch in a GitHub repository"],
    ["create_pull_request", "Create a new pull request in a GitHub repository"],
    ["get_pull_request", "Get details of a specific pull request"],
    ["list_pull_requests", "List and filter repository pull requests"],
    ["merge_pull_request", "Merge a pull request"],
    ["get_pull_request_files", "Get the list of files changed in a pull request"],
    ["create_pull_request_review", "Create a review on a pull request"],
  ]),
  ...tools("trello", "trello_", [
    ["get_cards_by_list_id", "Fetch cards from a specific Trello list on a specific board"],
    ["get_lists", "Retrieve all lists from the specified board"],
    ["get_recent_activity", "Fetch recent activity on the Trello board"],
    ["add_card_to_list", "Add a new card to a specified list on a specific board"],
    ["update_card_details", "Update an existing card's details on a specific board"],
    ["archive_card", "Send a card to the archive on a specific board"],
    ["move_card", "Move a card to a different list, potentially on a different board"],
    ["add_list_to_board", "Add a new list to the specified board"],
    ["archive_list", "Send a list to the archive on a specific board"],
    ["get_my_cards", "Fetch all cards assigned to the current user"],
    ["attach_image_to_card", "Attach an image to a card from a URL on a specific board"],
    ["list_boards", "List all boards the user has access to"],
    ["set_active_board", "Set the active board for future operations"],
    ["get_checklist_items", "Get all items from a checklist by its name"],
  ]),
  ...tools("memory", "memory_", [
    ["create_entities", "Create multiple new entities in the knowledge graph"],
    ["create_relations", "Create multiple new relations between entities in the knowledge graph."],
    ["add_observations", "Add new observations to existing entities in the knowledge graph"],
    ["delete_entities", "Delete multiple entities and their associated relations from the knowledge graph"],
    ["delete_observations", "Delete specific observations from entities in the knowledge graph"],
    ["delete_relations", "Delete multiple relations from the knowledge graph"],
    ["read_graph", "Read the entire knowledge graph"],
    ["search_nodes", "Search for nodes in the knowledge graph based on a query"],
    ["open_nodes", "Open specific nodes in the knowledge graph by their names"],
  ]),
  ...tools("postman", "postman_", [
    ["getCollections", "List all of your Postman collections."],
    ["getCollection", "Get information about a collection."],
    ["createCollection", "Creates a collection using the Postman Collection v2.1.0 schema format."],
    ["getWorkspaces", "Gets all workspaces you have access to."],
    ["getWorkspace", "Gets information about a workspace."],
    ["createWorkspace", "Creates a new workspace."],
    ["getEnvironments", "Gets information about all of your environments."],
    ["createEnvironment", "Creates an environment."],
    ["getMocks", "Gets all mock servers."],
    ["createMock", "Creates a mock server in a collection."],
    ["runCollection", "Runs a Postman collection by ID with detailed test results."],
    ["getAuthenticatedUser", "Gets information about the authenticated user."],
  ]),
  ...tools("everything", "everything_", [
    ["echo", "Echoes back the input"],
    ["add", "Adds two numbers"],
    ["longRunningOperation", "Demonstrates a long running operation with progress updates"],
    ["getTinyImage", "Returns the MCP_TINY_IMAGE"],
  ]),
];

const index = new ToolIndex(CATALOG);
const names = (query: string, limit?: number): string[] => index.search(query, limit).map((m) => m.name);

const origin: CallOrigin = {
  sessionId: "s1",
  signal: new AbortController().signal,
  clientCapabilities: undefined,
};

function text(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

describe("tokenizer", () => {
  it("splits snake, kebab and camelCase, drops stop words, stems", () => {
    expect(tokenize("getCardsByListId")).toEqual(["get", "card", "list", "id"]);
    expect(tokenize("github_get_issue")).toEqual(["github", "get", "issu"]);
    expect(tokenize("read-the-HTTPServer logs")).toEqual(["read", "http", "server", "log"]);
  });

  it("stems plural, -ing, -ed and final e consistently", () => {
    expect(stem("repositories")).toBe(stem("repository"));
    expect(stem("issues")).toBe(stem("issue"));
    expect(stem("created")).toBe(stem("create"));
    expect(stem("creating")).toBe(stem("create"));
    expect(stem("matches")).toBe(stem("match"));
    expect(stem("statuses")).toBe(stem("status"));
    expect(stem("getting")).toBe("get");
    expect(stem("address")).toBe("address");
    expect(stem("used")).toBe("used");
  });
});

describe("ToolIndex ranking", () => {
  it('"create issue" finds github_create_issue first', () => {
    expect(names("create issue")[0]).toBe("github_create_issue");
  });

  it('"trello card" puts trello card tools in the top 3', () => {
    const top = names("trello card", 3);
    expect(top).toHaveLength(3);
    for (const name of top) expect(name).toMatch(/^trello_.*card/);
  });

  it('"knowledge graph" finds memory tools', () => {
    const top = names("knowledge graph", 5);
    expect(top).toHaveLength(5);
    for (const name of top) expect(name).toMatch(/^memory_/);
    expect(top[0]).toBe("memory_read_graph");
  });

  it('"repo search" finds github_search_repositories first (prefix fallback)', () => {
    expect(names("repo search")[0]).toBe("github_search_repositories");
    expect(names("repo")).toContain("github_create_repository");
  });

  it("finds camelCase postman tools", () => {
    expect(names("collections", 3)).toEqual(expect.arrayContaining(["postman_getCollections"]));
    expect(names("create workspace")[0]).toBe("postman_createWorkspace");
    expect(names("mock server")[0]).toMatch(/^postman_\w*Mock/);
  });

  it("respects the limit, returns nothing for unknown or stop-word queries", () => {
    expect(names("github", 4)).toHaveLength(4);
    expect(names("zzzqqq")).toEqual([]);
    expect(names("the of and")).toEqual([]);
    expect(names("issue", 0)).toEqual([]);
  });

  it("returns the entry fields with a positive, descending score", () => {
    const results = index.search("pull request review");
    expect(results[0]).toMatchObject({
      name: "github_create_pull_request_review",
      server: "github",
      inputSchema: schema,
    });
    const scores = results.map((r) => r.score);
    expect(scores.every((s) => s > 0)).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it("works at 2,000 tools", () => {
    const verbs = ["get", "list", "create", "update", "delete", "search", "archive", "move"];
    const nouns = [
      "issue",
      "card",
      "board",
      "file",
      "branch",
      "entity",
      "collection",
      "user",
      "invoice",
      "ticket",
    ];
    const entries: ToolIndexEntry[] = [];
    for (let i = 0; i < 2000; i++) {
      const verb = verbs[i % verbs.length] ?? "get";
      const noun = nouns[Math.floor(i / verbs.length) % nouns.length] ?? "item";
      const server = `server${i % 25}`;
      entries.push({
        name: `${server}_${verb}_${noun}_${i}`,
        server,
        description: `${verb} a ${noun} in system ${i}. Tool number ${i} of the synthetic catalog.`,
        inputSchema: schema,
      });
    }
    entries.push({
      name: "billing_refundInvoice",
      server: "billing",
      description: "Refund a paid invoice.",
      inputSchema: schema,
    });
    const big = new ToolIndex(entries);
    expect(big.size).toBe(2001);
    expect(big.search("refund invoice", 5)[0]?.name).toBe("billing_refundInvoice");
    const top = big.search("delete ticket", 20);
    expect(top).toHaveLength(20);
    for (const m of top) expect(m.name).toMatch(/_delete_ticket_/);
  });
});

describe("search_tools", () => {
  const tool = searchToolsTool({ index: () => index });

  it("returns matches with input schemas as structured content, and as text two lines each", async () => {
    const result = await tool.call({ query: "create issue", limit: 3 }, origin);
    expect(result.isError).toBeUndefined();
    const structured = result.structuredContent as {
      query: string;
      results: { name: string; inputSchema: unknown }[];
    };
    expect(structured.query).toBe("create issue");
    expect(structured.results).toHaveLength(3);
    expect(structured.results[0]).toMatchObject({
      name: "github_create_issue",
      server: "github",
      description: "Create a new issue in a GitHub repository",
      inputSchema: schema,
    });
    const lines = text(result).split("\n");
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe("github_create_issue — Create a new issue in a GitHub repository");
    expect(lines[1]).toBe(`  input: ${JSON.stringify(schema)}`);
  });

  it("cuts descriptions to their first sentence in the text", async () => {
    const result = await tool.call({ query: "run collection", limit: 1 }, origin);
    expect(text(result).split("\n")[0]).toBe(
      "postman_runCollection — Runs a Postman collection by ID with detailed test results.",
    );
  });

  it("rejects an empty or whitespace query and a bad limit with an isError result", async () => {
    for (const args of [{ query: "" }, { query: "   \n" }, {}, { query: 3 }]) {
      const result = await tool.call(args, origin);
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/query/);
    }
    for (const limit of [0, 51, 2.5, "5"]) {
      const result = await tool.call({ query: "issue", limit }, origin);
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/limit/);
    }
  });

  it("defaults to 10 results and says so when nothing matches", async () => {
    const many = await tool.call({ query: "github" }, origin);
    expect((many.structuredContent as { results: unknown[] }).results).toHaveLength(10);
    const none = await tool.call({ query: "zzzqqq" }, origin);
    expect(none.isError).toBeUndefined();
    expect(none.structuredContent).toEqual({ query: "zzzqqq", results: [] });
    expect(text(none)).toMatch(/No tools match/);
  });

  it("is read-only", () => {
    expect(tool.definition.annotations?.readOnlyHint).toBe(true);
  });
});

describe("call_tool", () => {
  const ok: CallToolResult = { content: [{ type: "text", text: "done" }] };

  it("routes by public name with the arguments and the caller's origin", async () => {
    const calls: [string, Record<string, unknown>, CallOrigin][] = [];
    const tool = callToolTool({
      call: async (name, args, o) => {
        calls.push([name, args, o]);
        return ok;
      },
    });
    expect(await tool.call({ name: "github_get_issue", arguments: { issue_number: 7 } }, origin)).toBe(ok);
    expect(await tool.call({ name: "memory_read_graph" }, origin)).toBe(ok);
    expect(calls).toEqual([
      ["github_get_issue", { issue_number: 7 }, origin],
      ["memory_read_graph", {}, origin],
    ]);
    expect(tool.definition.annotations).toEqual({
      readOnlyHint: false,
      destructiveHint: true,
      openWorldHint: true,
    });
  });

  it("turns the router's unknown-tool error into an isError result pointing at search_tools", async () => {
    const tool = callToolTool({
      call: async (name) => {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      },
    });
    const result = await tool.call({ name: "nope" }, origin);
    expect(result.isError).toBe(true);
    expect(text(result)).toBe("call_tool: Unknown tool: nope. Use search_tools to find the right tool name.");
  });

  it("rejects a missing name or non-object arguments; lets other errors through", async () => {
    const tool = callToolTool({
      call: async () => {
        throw new ProtocolError(ProtocolErrorCode.InternalError, "boom");
      },
    });
    expect((await tool.call({}, origin)).isError).toBe(true);
    expect((await tool.call({ name: "x", arguments: [1] }, origin)).isError).toBe(true);
    expect((await tool.call({ name: "x", arguments: "a" }, origin)).isError).toBe(true);
    await expect(tool.call({ name: "x" }, origin)).rejects.toThrow(/boom/);
  });
});

describe("schema text (search_tools content)", () => {
  it("keeps a schema that fits whole, as compact JSON", () => {
    const small = {
      type: "object",
      properties: { q: { type: "string", description: "query" } },
      required: ["q"],
    };
    expect(schemaLine(small)).toBe(`input: ${JSON.stringify(small)}`);
  });

  it("shortens a schema over the bound to names, types, enums and short descriptions, and says so", () => {
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 8; i++)
      properties[`p${i}`] = {
        type: "string",
        enum: Array.from({ length: 30 }, (_, j) => `v${j}`),
        description: "d".repeat(200),
        nested: { deep: "x".repeat(100) },
      };
    const big = { type: "object", properties, required: ["p0"] };
    const line = schemaLine(big, 1_500);
    expect(line).toMatch(
      /^input \(shortened to parameter names, types and short descriptions; the full schema/,
    );
    const json = JSON.parse(line.slice(line.indexOf("): ") + 3)) as {
      required: string[];
      properties: Record<string, { type: string; enum: string[]; description: string }>;
    };
    expect(json.required).toEqual(["p0"]);
    expect(json.properties["p7"]?.enum).toHaveLength(10);
    expect(json.properties["p7"]?.description.length).toBe(80);
  });

  it("cuts what is still too long, and never walks a deep or huge schema whole", () => {
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++) properties[`param_${i}`] = { type: "string" };
    const line = schemaLine({ type: "object", properties }, 1_500);
    expect(line).toMatch(/^input \(cut at 1500 characters; the full schema is in structuredContent/);
    expect(line.length).toBeLessThan(1_700);
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 100_000; i++) deep = { type: "object", properties: { a: deep } };
    const cut = boundedJson(deep, 1_500);
    expect(cut.complete).toBe(false);
    expect(cut.json.length).toBeLessThanOrEqual(1_500);
    expect(schemaLine(deep).length).toBeLessThan(1_700);
    expect(parameterText(deep).length).toBeLessThan(100);
  });
});

describe("catalogIndex", () => {
  it("builds one index per catalog: reused across queries, rebuilt when the catalog is replaced", () => {
    const options = { separator: "_", maxLength: 64, readOnly: false };
    const source = (tools: string[]) => ({
      server: {
        name: "s",
        prefix: "s",
        trustAnnotations: true,
        readOnly: false,
        timeoutMs: 1000,
        totalTimeoutMs: 1000,
        tools: { allow: [], deny: [], overrides: {} },
      },
      catalog: {
        tools: tools.map((name) => ({ name, inputSchema: { type: "object" as const } })),
        resources: [],
        resourceTemplates: [],
        prompts: [],
      },
    });
    let current = new Catalog([source(["alpha"])], [], options);
    const indexOf = catalogIndex(() => current);
    const first = indexOf();
    expect(indexOf()).toBe(first);
    expect(first.search("alpha").map((m) => m.name)).toEqual(["s_alpha"]);
    current = new Catalog([source(["alpha", "beta"])], [], options);
    const second = indexOf();
    expect(second).not.toBe(first);
    expect(indexOf()).toBe(second);
    expect(second.search("beta").map((m) => m.name)).toEqual(["s_beta"]);
  });
});
