/**
 * GitHub, memory, Trello and Postman together through the aggregator: the real npm servers behind the
 * spawned CLI (stdio), a plain SDK client in front, the SaaS APIs faked on 127.0.0.1.
 *
 * The config is the SHIPPED `servers.config.json` (command `npx`, args `["-y", "<package>"]`, `${VAR}`
 * credentials, `serializeWrites` on memory) plus test plumbing in the entries' `env`: the redirect
 * preload (`NODE_OPTIONS` + `AMCP_REDIRECT`) for GitHub and Trello (and as a guard for Postman).
 * Children only inherit a base list of variables plus their entry's `env`, so the plumbing has to be in
 * the entries. Credentials and `POSTMAN_API_BASE_URL` come from the aggregator's own environment,
 * through the shipped `${…}` expansions.
 */
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubProfile } from "../../src/profiles/github.js";
import { trelloProfile } from "../../src/profiles/trello.js";
import {
  alive,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import {
  closeStdioClient,
  realServerEntry,
  startFakeGithub,
  startFakePostman,
  startFakeTrello,
  type FakeApi,
  type FakePostman,
  type FakeTrello,
} from "../helpers/real-servers.js";
import {
  DUMMY_CREDENTIALS,
  PACKAGES,
  PRELOAD_NODE_OPTIONS,
  childRunning,
  credentialEnv,
  expectLocalLaunch,
  json,
  readShippedConfig,
  serverToolCounts,
  text,
} from "./integrations.shared.js";

const NAME = /^[a-zA-Z0-9_-]{1,54}$/;
const REPO = { owner: "octocat", repo: "hello-world" };
const MEMORY_TOOLS = [
  "add_observations",
  "create_entities",
  "create_relations",
  "delete_entities",
  "delete_observations",
  "delete_relations",
  "open_nodes",
  "read_graph",
  "search_nodes",
];

/**
 * A loopback proxy in front of the fake GitHub that can hold one request open: the test then kills the
 * server-github child while the call is in flight (a real transport failure).
 */
interface HangingProxy {
  readonly url: string;
  /** "METHOD /path" of every request that reached the proxy. */
  readonly seen: string[];
  /** Holds the next request with this key open; resolves once it has arrived. */
  hangNext(key: string): Promise<void>;
  count(key: string): number;
  close(): Promise<void>;
}

async function startHangingProxy(target: string): Promise<HangingProxy> {
  const seen: string[] = [];
  const hangs = new Map<string, () => void>();
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const key = `${req.method ?? "GET"} ${new URL(req.url ?? "/", "http://x").pathname}`;
    seen.push(key);
    const hang = hangs.get(key);
    if (hang) {
      hangs.delete(key);
      req.resume();
      hang(); // never answered: the socket dies with the killed child
      return;
    }
    const out = http.request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    hangNext: (key) => new Promise<void>((resolve) => hangs.set(key, resolve)),
    count: (key) => seen.filter((k) => k === key).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function call(h: StdioHarness, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await h.client.callTool({ name, arguments: args })) as CallToolResult;
}

describe("github + memory + trello + postman through the aggregator (shipped config shape)", () => {
  let tmp: TempDir;
  let github: FakeApi;
  let trello: FakeTrello;
  let postman: FakePostman;
  let proxy: HangingProxy;
  let h: StdioHarness;
  let tools: Tool[];
  let direct: { client: Client; transport: StdioClientTransport; tools: Tool[] };
  let memoryFile: string;

  beforeAll(async () => {
    [tmp, github, trello, postman] = await Promise.all([
      tempDir("amcp-integrations-"),
      startFakeGithub({ token: DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN }),
      startFakeTrello({ key: DUMMY_CREDENTIALS.TRELLO_API_KEY, token: DUMMY_CREDENTIALS.TRELLO_TOKEN }),
      startFakePostman({ apiKey: DUMMY_CREDENTIALS.POSTMAN_API_KEY }),
    ]);
    proxy = await startHangingProxy(github.url);
    const home = path.join(tmp.dir, "home");
    memoryFile = path.join(home, ".autonomous-mcp", "memory.jsonl"); // the shipped ${HOME}/.autonomous-mcp/memory.jsonl

    const config = readShippedConfig();
    // The archived npm GitHub server in place of the shipped remote entry: the offline alternative of
    // docs/integrations/github.md, written as that page gives it; Postman's remote option is not used here.
    config.mcpServers.github = {
      command: "npx",
      args: ["-y", PACKAGES.github],
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${GITHUB_PERSONAL_ACCESS_TOKEN}" },
      requiredEnv: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
    };
    delete (config.mcpServers as Record<string, unknown>)["postman-remote"];
    const { github: gh, trello: tr, postman: pm } = config.mcpServers;
    gh.env = {
      ...gh.env,
      NODE_OPTIONS: PRELOAD_NODE_OPTIONS,
      AMCP_REDIRECT: JSON.stringify({ "api.github.com": proxy.url }),
    };
    tr.env = {
      ...tr.env,
      NODE_OPTIONS: PRELOAD_NODE_OPTIONS,
      AMCP_REDIRECT: JSON.stringify({ "api.trello.com": trello.url }),
    };
    pm.env = { ...pm.env, NODE_OPTIONS: PRELOAD_NODE_OPTIONS, AMCP_REDIRECT: "{}" }; // guard only: the base URL does the work
    for (const entry of Object.values(config.mcpServers))
      expect(entry).toMatchObject({ command: "npx", args: ["-y", expect.any(String)] });
    const configPath = await writeConfig(tmp.dir, config);

    // The same Postman server, connected directly (no aggregator), to compare schemas with.
    const entry = realServerEntry("postman", {
      home: path.join(tmp.dir, "direct-home"),
      fakes: { postman: postman.url },
    });
    const transport = new StdioClientTransport({ ...entry, stderr: "ignore" });
    const client = new Client({ name: "direct", version: "0.0.0" });

    const env = { ...credentialEnv(home, postman.url), AUTONOMOUS_MCP_LOG_LEVEL: "debug" };
    [h] = await Promise.all([startStdio(configPath, { env }), client.connect(transport)]);
    direct = { client, transport, tools: (await client.listTools()).tools };
    tools = (await h.client.listTools()).tools;
  });

  afterAll(async () => {
    if (direct) await closeStdioClient(direct.client, direct.transport);
    await h?.close();
    await Promise.all([github?.close(), trello?.close(), postman?.close(), proxy?.close()]);
    await tmp?.cleanup();
  });

  const tool = (name: string): Tool => {
    const t = tools.find((x) => x.name === name);
    if (!t) throw new Error(`no tool ${name}`);
    return t;
  };

  it("starts the four servers from the local packages (npx is never spawned)", () => {
    expect(h.pid).toBeDefined();
    expectLocalLaunch(h.pid as number, ["github", "memory", "trello", "postman"]);
  });

  it("serves the full catalog: 26 github_, 9 memory_, 57 trello_, 42 postman_ tools under valid public names", async () => {
    const names = tools.map((t) => t.name);
    const expected = {
      github: Object.keys(githubProfile.tools).map((n) => `github_${n}`),
      memory: MEMORY_TOOLS.map((n) => `memory_${n}`),
      trello: Object.keys(trelloProfile.tools).map((n) => `trello_${n}`),
      postman: direct.tools.map((t) => `postman_${t.name}`),
    };
    for (const [server, list] of Object.entries(expected)) {
      for (const n of list) expect(names, server).toContain(n);
    }
    expect(await serverToolCounts(h.client)).toEqual({ github: 26, memory: 9, trello: 57, postman: 42 });
    // Everything else is the aggregator's own (status, run_workflow, shipped workflows).
    const serverNames = new Set(Object.values(expected).flat());
    expect(serverNames.size).toBe(26 + 9 + 57 + 42);
    const own = names.filter((n) => !serverNames.has(n));
    expect(own).toContain("status");
    expect(names).toHaveLength(serverNames.size + own.length);
    for (const n of names) expect(n).toMatch(NAME);
    expect(new Set(names).size).toBe(names.length);
  });

  it("github: real calls, and its -32603 404 arrives as an isError result", async () => {
    const issue = json<{ number: number; title: string; html_url: string }>(
      await call(h, "github_get_issue", { ...REPO, issue_number: 1 }),
    );
    expect(issue).toMatchObject({ number: 1, title: "Found a bug" });
    const open = json<{ state: string }[]>(await call(h, "github_list_issues", REPO));
    expect(open.length).toBeGreaterThan(0);
    const found = json<{ items: { full_name: string }[] }>(
      await call(h, "github_search_repositories", { query: "hello" }),
    );
    expect(found.items.map((r) => r.full_name)).toContain("octocat/hello-world");
    const created = json<{ number: number; title: string }>(
      await call(h, "github_create_issue", { ...REPO, title: "Made through the aggregator" }),
    );
    expect(created.title).toBe("Made through the aggregator");

    // Not a thrown McpError: callTool resolves with isError.
    const missing = await call(h, "github_get_issue", { ...REPO, issue_number: 404 });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toBe("github get_issue failed: Not Found: Resource not found: Not Found");
    expect(missing._meta).toMatchObject({ "autonomous-mcp/rpcErrorCode": -32603 });
  });

  it("trello: real calls, and a 404 arrives as an isError result", async () => {
    const boards = json<{ name: string }[]>(await call(h, "trello_list_boards", {}));
    expect(boards.map((b) => b.name)).toEqual(["Project Alpha", "Personal"]);
    const lists = json<{ name: string }[]>(
      await call(h, "trello_get_lists", { boardId: trello.seed.boardId }),
    );
    expect(lists.map((l) => l.name)).toEqual(["To Do", "Doing", "Done"]);
    const card = json<{ id: string; name: string }>(
      await call(h, "trello_add_card_to_list", {
        listId: trello.seed.lists.doing,
        name: "Through the aggregator",
      }),
    );
    const fetched = json<{ name: string }>(await call(h, "trello_get_card", { cardId: card.id }));
    expect(fetched.name).toBe("Through the aggregator");

    const missing = await call(h, "trello_get_card", { cardId: "missing" });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toContain("404");
  });

  it("postman: real calls, and a 404 arrives as an isError result", async () => {
    expect(text(await call(h, "postman_getWorkspaces", {}))).toContain("| Team APIs | team |");
    const ws = json<{ workspace: { name: string } }>(
      await call(h, "postman_getWorkspace", { workspaceId: postman.seed.workspaces.team }),
    );
    expect(ws.workspace.name).toBe("Team APIs");
    const envs = json<{ environments: { name: string }[] }>(
      await call(h, "postman_getEnvironments", { workspace: postman.seed.workspaces.team }),
    );
    expect(envs.environments.map((e) => e.name)).toEqual(["Staging", "Production"]);

    const missing = await call(h, "postman_getCollection", { collectionId: "missing" });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toContain("404");
  });

  it("memory: real calls", async () => {
    json(
      await call(h, "memory_create_entities", {
        entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }],
      }),
    );
    await call(h, "memory_add_observations", {
      observations: [{ entityName: "Ada", contents: ["born 1815"] }],
    });
    const found = json<{ entities: { name: string; observations: string[] }[] }>(
      await call(h, "memory_search_nodes", { query: "Ada" }),
    );
    expect(found.entities[0]?.observations).toEqual(["wrote the first program", "born 1815"]);
    expect(await readFile(memoryFile, "utf8")).toContain('"name":"Ada"');
  });

  it("each fake API saw the credential in the right place", () => {
    expect(github.requests.length).toBeGreaterThan(0);
    for (const r of github.requests) {
      expect(r.headers["authorization"]).toBe(`Bearer ${DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN}`);
    }
    expect(trello.requests.length).toBeGreaterThan(0);
    for (const r of trello.requests) {
      expect(r.query).toMatchObject({
        key: DUMMY_CREDENTIALS.TRELLO_API_KEY,
        token: DUMMY_CREDENTIALS.TRELLO_TOKEN,
      });
    }
    expect(postman.requests.length).toBeGreaterThan(0);
    for (const r of postman.requests) expect(r.headers["x-api-key"]).toBe(DUMMY_CREDENTIALS.POSTMAN_API_KEY);
  });

  it("advertises the safety profiles' hints for github and trello", () => {
    expect(tool("github_get_issue").annotations).toMatchObject({ readOnlyHint: true });
    expect(tool("trello_get_lists").annotations).toMatchObject({ readOnlyHint: true });
    for (const name of ["github_create_issue", "trello_add_card_to_list"]) {
      expect(tool(name).annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    }
    // Postman's own hints pass through, except runCollection (Postman says idempotent; a rerun repeats its requests).
    expect(tool("postman_getWorkspace").annotations).toMatchObject({
      readOnlyHint: true,
      title: "Get a workspace",
    });
    expect(tool("postman_runCollection").annotations).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
    });
    expect(direct.tools.find((t) => t.name === "runCollection")?.annotations).toMatchObject({
      idempotentHint: true,
    });
    // Every tool of both profiles, exactly as the profile says.
    for (const [prefix, profile] of [
      ["github", githubProfile],
      ["trello", trelloProfile],
    ] as const) {
      for (const [name, entry] of Object.entries(profile.tools)) {
        expect(tool(`${prefix}_${name}`).annotations, `${prefix}_${name}`).toMatchObject(entry.annotations);
      }
    }
  });

  it("a transport failure is retried for a read but never for a create", async () => {
    const pid = h.pid as number;
    const killGithub = () => {
      const child = childRunning(pid, PACKAGES.github);
      expect(child).toBeDefined();
      process.kill((child as { pid: number }).pid, "SIGKILL");
    };

    // Control: get_issue is read-only, so the aggregator tries again once the server is back.
    const getKey = "GET /repos/octocat/hello-world/issues/2";
    const getHung = proxy.hangNext(getKey);
    const read = call(h, "github_get_issue", { ...REPO, issue_number: 2 });
    await getHung;
    killGithub();
    expect(json<{ number: number }>(await read).number).toBe(2);
    expect(proxy.count(getKey)).toBe(2);

    // create_issue is not idempotent: the failure is reported, the request is not sent again.
    const postKey = "POST /repos/octocat/hello-world/issues";
    const before = proxy.count(postKey);
    const postHung = proxy.hangNext(postKey);
    const create = call(h, "github_create_issue", { ...REPO, title: "Sent once" });
    await postHung;
    killGithub();
    const result = await create;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^github_create_issue: github/);
    expect(proxy.count(postKey) - before).toBe(1);

    // The server comes back by itself.
    json(await call(h, "github_get_issue", { ...REPO, issue_number: 3 }));
    expect(proxy.count(postKey) - before).toBe(1);
  });

  it("passes Postman's $ref schemas through intact, and our validator accepts a valid call", async () => {
    const aggregated = tool("postman_searchPostmanElements");
    const own = direct.tools.find((t) => t.name === "searchPostmanElements");
    expect(JSON.stringify(own?.inputSchema)).toContain('"$ref":"#/properties/');
    expect(aggregated.inputSchema).toEqual(own?.inputSchema);
    // And every other Postman schema too.
    for (const t of direct.tools)
      expect(tool(`postman_${t.name}`).inputSchema, t.name).toEqual(t.inputSchema);

    const before = postman.requests.length;
    const result = await call(h, "postman_searchPostmanElements", {
      entityType: "requests",
      q: "pets",
      filters: { $and: [{ privateNetwork: { $eq: true } }, { publisherIsVerified: { $ne: false } }] },
    });
    // The fake has no search route (a 404 from "the API"): what matters is that the call reached it.
    expect(text(result)).not.toMatch(/invalid arguments|INVALID_ARGUMENTS/i);
    expect(postman.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toContain("POST /search");
  });

  it("introduces itself downstream as autonomous-mcp/<version>", async () => {
    const { version } = JSON.parse(await readFile(path.resolve("package.json"), "utf8")) as {
      version: string;
    };
    expect(h.client.getServerVersion()).toMatchObject({ name: "autonomous-mcp", version });
    // Postman puts clientInfo.name into its User-Agent...
    for (const r of postman.requests) expect(String(r.headers["user-agent"])).toMatch(/^autonomous-mcp\//);
    // ...and logs the whole clientInfo on stderr, which we relay at debug level.
    expect(h.stderr()).toContain(
      `\\"clientInfo\\":{\\"name\\":\\"autonomous-mcp\\",\\"version\\":\\"${version}\\"}`,
    );
  });

  it("serializes memory writes: 50 concurrent create_entities → 50 entities in the file", async () => {
    const names = Array.from({ length: 50 }, (_, i) => `Concurrent-${i}`);
    const results = await Promise.all(
      names.map((name) =>
        call(h, "memory_create_entities", { entities: [{ name, entityType: "probe", observations: [] }] }),
      ),
    );
    expect(results.filter((r) => r.isError)).toEqual([]);
    const saved = (await readFile(memoryFile, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; name?: string })
      .filter((e) => e.type === "entity" && e.name?.startsWith("Concurrent-"))
      .map((e) => e.name);
    expect(saved.sort()).toEqual([...names].sort());
  });

  it("passes data across servers from a plain client: GitHub issue → Trello card → memory", async () => {
    const issue = json<{ number: number; title: string; html_url: string }>(
      await call(h, "github_get_issue", { ...REPO, issue_number: 1 }),
    );
    expect(issue.html_url).toBe("https://github.com/octocat/hello-world/issues/1");
    const card = json<{ id: string; name: string; desc: string; shortUrl: string }>(
      await call(h, "trello_add_card_to_list", {
        listId: trello.seed.lists.todo,
        name: issue.title,
        description: `From GitHub: ${issue.html_url}`,
      }),
    );
    expect(card).toMatchObject({ name: issue.title, desc: `From GitHub: ${issue.html_url}` });

    const issueNode = `github:octocat/hello-world#${issue.number}`;
    const cardNode = `trello:${card.id}`;
    json(
      await call(h, "memory_create_entities", {
        entities: [
          { name: issueNode, entityType: "github_issue", observations: [issue.title, issue.html_url] },
          { name: cardNode, entityType: "trello_card", observations: [card.shortUrl] },
        ],
      }),
    );
    json(
      await call(h, "memory_create_relations", {
        relations: [{ from: cardNode, to: issueNode, relationType: "tracks" }],
      }),
    );

    const nodes = json<{
      entities: { name: string; observations: string[] }[];
      relations: { from: string; to: string; relationType: string }[];
    }>(await call(h, "memory_open_nodes", { names: [issueNode, cardNode] }));
    expect(nodes.entities.find((e) => e.name === issueNode)?.observations).toEqual([
      issue.title,
      issue.html_url,
    ]);
    expect(nodes.entities.find((e) => e.name === cardNode)?.observations).toEqual([card.shortUrl]);
    expect(nodes.relations).toEqual([{ from: cardNode, to: issueNode, relationType: "tracks" }]);
    const back = json<{ name: string; desc: string }>(await call(h, "trello_get_card", { cardId: card.id }));
    expect(back.desc).toContain(issue.html_url);
  });

  it("exits promptly when the client closes (Trello ignores stdin EOF) and leaves no server behind", async () => {
    const pid = h.pid as number;
    const children = expectLocalLaunch(pid, ["github", "memory", "trello", "postman"]);
    const stderrEnded = new Promise<void>((resolve) => h.transport.stderr?.once("end", () => resolve()));
    const started = Date.now();
    await h.client.close();
    await waitFor(() => !alive(pid), 5_000, 10);
    // Any other way out takes >= 2 s: the SDK client's SIGTERM fallback, or our SIGKILL grace for a
    // Trello that was only sent EOF.
    expect(Date.now() - started).toBeLessThan(1_800);
    for (const [name, child] of children) expect(alive(child), name).toBe(false);

    // Credentials never reach the aggregator's stderr, even at debug level with every child's stderr relayed.
    await Promise.race([stderrEnded, new Promise((r) => setTimeout(r, 1_000))]);
    const stderr = h.stderr();
    expect(stderr).toContain('"level":20');
    expect(stderr).toContain("GitHub MCP Server running on stdio");
    for (const secret of Object.values(DUMMY_CREDENTIALS)) expect(stderr).not.toContain(secret);
  });
});
