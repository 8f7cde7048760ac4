/**
 * The real downstream servers, connected DIRECTLY (SDK Client + StdioClientTransport, no aggregator),
 * against the fake SaaS APIs: proves the fixtures (fakes, redirect preload, real-servers helper) work.
 */
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DUMMY_CREDENTIALS,
  closeStdioClient,
  realServerEntry,
  redirectPreloadPath,
  startFakeGithub,
  startFakePostman,
  startFakeTrello,
  withTempHome,
  type FakeApi,
  type FakePostman,
  type FakeTrello,
  type RealServerName,
  type RealServerOptions,
} from "../helpers/real-servers.js";

interface Connected {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close: () => Promise<void>;
}

async function connect(name: RealServerName, opts: RealServerOptions): Promise<Connected> {
  const entry = realServerEntry(name, opts);
  const transport = new StdioClientTransport({ ...entry, stderr: "pipe" });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => {
    err += d.toString("utf8");
  });
  const client = new Client({ name: "amcp-fixture-test", version: "0.0.0" });
  await client.connect(transport);
  return { client, transport, stderr: () => err, close: () => closeStdioClient(client, transport) };
}

async function call(c: Connected, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await c.client.callTool({ name, arguments: args })) as CallToolResult;
}

function text(r: CallToolResult): string {
  return r.content.map((x) => (x.type === "text" ? x.text : "")).join("\n");
}

function json<T = Record<string, unknown>>(r: CallToolResult): T {
  expect(r.isError ?? false, text(r)).toBe(false);
  return JSON.parse(text(r)) as T;
}

describe("server-github through the fake api.github.com", () => {
  let fake: FakeApi;
  let home: { home: string; cleanup: () => Promise<void> };
  let gh: Connected;
  const repo = { owner: "octocat", repo: "hello-world" };

  beforeAll(async () => {
    [fake, home] = await Promise.all([startFakeGithub(), withTempHome()]);
    gh = await connect("github", { home: home.home, fakes: { github: fake.url } });
  });
  afterAll(async () => {
    await gh?.close();
    await fake?.close();
    await home?.cleanup();
  });

  it("lists its 26 tools, none annotated, over protocol 2024-11-05", async () => {
    const { tools } = await gh.client.listTools();
    expect(tools).toHaveLength(26);
    expect(tools.filter((t) => t.annotations !== undefined)).toEqual([]);
    expect(gh.client.getServerVersion()?.name).toBe("github-mcp-server");
  });

  it("reads: get_issue, list_issues, search_repositories, get_file_contents, list_commits", async () => {
    const issue = json<{
      number: number;
      title: string;
      state: string;
      user: { login: string };
      labels: { name: string }[];
    }>(await call(gh, "get_issue", { ...repo, issue_number: 1 }));
    expect(issue).toMatchObject({
      number: 1,
      title: "Found a bug",
      state: "open",
      user: { login: "octocat" },
    });
    expect(issue.labels.map((l) => l.name)).toEqual(["bug"]);

    const open = json<{ number: number; state: string }[]>(await call(gh, "list_issues", { ...repo }));
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((i) => i.state === "open")).toBe(true);

    const found = json<{ total_count: number; items: { full_name: string }[] }>(
      await call(gh, "search_repositories", { query: "hello" }),
    );
    expect(found.items.map((r) => r.full_name)).toContain("octocat/hello-world");

    const file = json<{ type: string; content: string }>(
      await call(gh, "get_file_contents", { ...repo, path: "README.md" }),
    );
    expect(file.type).toBe("file");
    expect(file.content).toContain("# Hello World"); // the server decodes the base64 for us

    const commits = json<{ sha: string; commit: { message: string } }[]>(
      await call(gh, "list_commits", { ...repo }),
    );
    expect(commits.map((c) => c.commit.message)).toEqual([
      "Add the guide",
      "Add source files",
      "Initial commit",
    ]);
  });

  it("writes: create_issue, then get_issue / add_issue_comment / update_issue see it", async () => {
    const created = json<{ number: number; title: string; state: string }>(
      await call(gh, "create_issue", {
        ...repo,
        title: "Created through MCP",
        body: "hello",
        labels: ["bug"],
      }),
    );
    expect(created).toMatchObject({ title: "Created through MCP", state: "open" });

    const comment = json<{ body: string; user: { login: string } }>(
      await call(gh, "add_issue_comment", { ...repo, issue_number: created.number, body: "first!" }),
    );
    expect(comment).toMatchObject({ body: "first!", user: { login: "amcp-bot" } });

    const closed = json<{ state: string; closed_at: string | null }>(
      await call(gh, "update_issue", { ...repo, issue_number: created.number, state: "closed" }),
    );
    expect(closed.state).toBe("closed");
    expect(closed.closed_at).not.toBeNull();

    const again = json<{ title: string; state: string; comments: number }>(
      await call(gh, "get_issue", { ...repo, issue_number: created.number }),
    );
    expect(again).toMatchObject({ title: "Created through MCP", state: "closed", comments: 1 });
  });

  it("a 404 is a JSON-RPC -32603 error, not an isError result", async () => {
    const err = await call(gh, "get_issue", { ...repo, issue_number: 404 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32603);
    expect((err as McpError).message).toBe("MCP error -32603: Not Found: Resource not found: Not Found");
  });

  it("sends the PAT as a Bearer Authorization header, through the redirect", () => {
    expect(fake.requests.length).toBeGreaterThanOrEqual(10);
    for (const r of fake.requests) {
      expect(r.headers["authorization"]).toBe(`Bearer ${DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN}`);
      expect(r.headers["x-redirected-from"]).toBe("https://api.github.com");
    }
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(
      "GET /repos/octocat/hello-world/issues/404",
    );
  });
});

describe("mcp-server-trello through the fake api.trello.com", () => {
  let fake: FakeTrello;
  let home: { home: string; cleanup: () => Promise<void> };
  let tr: Connected;

  beforeAll(async () => {
    [fake, home] = await Promise.all([startFakeTrello(), withTempHome()]);
    tr = await connect("trello", { home: home.home, fakes: { trello: fake.url } });
  });
  afterAll(async () => {
    await tr?.close();
    await fake?.close();
    await home?.cleanup();
  });

  it("lists its 57 tools, none annotated", async () => {
    const { tools } = await tr.client.listTools();
    expect(tools).toHaveLength(57);
    const hinted = tools.filter(
      (t) => t.annotations && Object.keys(t.annotations).some((k) => k.endsWith("Hint")),
    );
    expect(hinted).toEqual([]);
  });

  it("reads: list_boards, get_lists, get_cards_by_list_id, get_recent_activity", async () => {
    const boards = json<{ id: string; name: string; closed: boolean }[]>(await call(tr, "list_boards", {}));
    expect(boards.map((b) => b.name)).toEqual(["Project Alpha", "Personal"]);

    const lists = json<{ id: string; name: string; idBoard: string }[]>(
      await call(tr, "get_lists", { boardId: fake.seed.boardId }),
    );
    expect(lists.map((l) => l.name)).toEqual(["To Do", "Doing", "Done"]);

    const cards = json<{ name: string; idList: string }[]>(
      await call(tr, "get_cards_by_list_id", { listId: fake.seed.lists.todo }),
    );
    expect(cards.map((c) => c.name)).toEqual(["Write the README", "Fix login bug"]);

    const activity = json<{ type: string }[]>(
      await call(tr, "get_recent_activity", { boardId: fake.seed.boardId, limit: 2 }),
    );
    expect(activity).toHaveLength(2);
  });

  it("writes: add_card_to_list → get_card → add_comment → update_card_details → archive_card", async () => {
    const card = json<{
      id: string;
      name: string;
      desc: string;
      idList: string;
      closed: boolean;
      shortUrl: string;
    }>(
      await call(tr, "add_card_to_list", {
        listId: fake.seed.lists.doing,
        name: "From MCP",
        description: "made by a test",
      }),
    );
    expect(card).toMatchObject({
      name: "From MCP",
      desc: "made by a test",
      idList: fake.seed.lists.doing,
      closed: false,
    });
    expect(card.shortUrl).toMatch(/^https:\/\/trello\.com\/c\/\w{8}$/);

    const comment = json<{ type: string; data: { text: string } }>(
      await call(tr, "add_comment", { cardId: card.id, text: "looks good" }),
    );
    expect(comment).toMatchObject({ type: "commentCard", data: { text: "looks good" } });

    json(await call(tr, "update_card_details", { cardId: card.id, name: "From MCP (renamed)" }));
    const fetched = json<{ name: string; actions: { data: { text: string } }[] }>(
      await call(tr, "get_card", { cardId: card.id }),
    );
    expect(fetched.name).toBe("From MCP (renamed)");
    expect(fetched.actions.map((a) => a.data.text)).toEqual(["looks good"]);

    const archived = json<{ closed: boolean }>(await call(tr, "archive_card", { cardId: card.id }));
    expect(archived.closed).toBe(true);
    const after = json<{ name: string }[]>(
      await call(tr, "get_cards_by_list_id", { listId: fake.seed.lists.doing }),
    );
    expect(after.map((c) => c.name)).not.toContain("From MCP (renamed)");
  });

  it("a 404 is an isError result", async () => {
    const r = await call(tr, "get_card", { cardId: "missing" });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe(
      "Error: MCP error -32603: Trello API Error: 404 Request failed with status code 404",
    );
  });

  it("sends key and token as query parameters, through the redirect, and keeps its state in $HOME", async () => {
    expect(fake.requests.length).toBeGreaterThanOrEqual(10);
    for (const r of fake.requests) {
      expect(r.query).toMatchObject({
        key: DUMMY_CREDENTIALS.TRELLO_API_KEY,
        token: DUMMY_CREDENTIALS.TRELLO_TOKEN,
      });
      expect(r.headers["x-redirected-from"]).toBe("https://api.trello.com");
      expect(r.path.startsWith("/1/")).toBe(true);
    }
    const set = await call(tr, "set_active_board", { boardId: fake.seed.boardId });
    expect(set.isError ?? false).toBe(false);
    const { readFile } = await import("node:fs/promises");
    const saved = JSON.parse(await readFile(`${home.home}/.trello-mcp/config.json`, "utf8")) as {
      boardId: string;
    };
    expect(saved.boardId).toBe(fake.seed.boardId);
  });
});

describe("postman-mcp-server through the fake api.postman.com", () => {
  let fake: FakePostman;
  let home: { home: string; cleanup: () => Promise<void> };
  let pm: Connected;

  beforeAll(async () => {
    [fake, home] = await Promise.all([startFakePostman(), withTempHome()]);
    pm = await connect("postman", { home: home.home, fakes: { postman: fake.url } });
  });
  afterAll(async () => {
    await pm?.close();
    await fake?.close();
    await home?.cleanup();
  });

  it("lists its 42 tools (default toolset), all annotated", async () => {
    const { tools } = await pm.client.listTools();
    expect(tools).toHaveLength(42);
    expect(tools.every((t) => typeof t.annotations?.readOnlyHint === "boolean")).toBe(true);
    const names = tools.map((t) => t.name);
    for (const n of [
      "getWorkspaces",
      "getWorkspace",
      "getCollections",
      "getCollection",
      "getEnvironments",
      "createCollection",
    ]) {
      expect(names).toContain(n);
    }
  });

  it("reads: getWorkspaces, getWorkspace, getCollections, getCollection, getEnvironments", async () => {
    // getWorkspaces and getCollections are rendered by the server as Markdown tables.
    const ws = await call(pm, "getWorkspaces", {});
    expect(text(ws)).toContain("# Workspaces");
    expect(text(ws)).toContain(`| ${fake.seed.workspaces.team} | Team APIs | team |`);

    const one = json<{ workspace: { name: string; collections: { uid: string }[] } }>(
      await call(pm, "getWorkspace", { workspaceId: fake.seed.workspaces.team }),
    );
    expect(one.workspace.name).toBe("Team APIs");
    expect(one.workspace.collections.map((c) => c.uid)).toEqual([fake.seed.collectionUid]);

    const cols = await call(pm, "getCollections", { workspace: fake.seed.workspaces.team });
    expect(text(cols)).toContain("| Pet Store API |");

    // Default model: the server turns `item` into `itemRefs`.
    const col = json<{ collection: { info: { name: string }; itemRefs: { name: string }[] } }>(
      await call(pm, "getCollection", { collectionId: fake.seed.collectionUid }),
    );
    expect(col.collection.info.name).toBe("Pet Store API");
    expect(col.collection.itemRefs.map((i) => i.name)).toEqual(["Pets", "Health check"]);

    const envs = json<{ environments: { name: string }[] }>(
      await call(pm, "getEnvironments", { workspace: fake.seed.workspaces.team }),
    );
    expect(envs.environments.map((e) => e.name)).toEqual(["Staging", "Production"]);
  });

  it("writes: createCollection, then getCollection reads it back", async () => {
    const created = json<{ collection: { id: string; name: string; uid: string } }>(
      await call(pm, "createCollection", {
        workspace: fake.seed.workspaces.mine,
        collection: {
          info: {
            name: "Made by MCP",
            schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
          },
          item: [{ name: "Ping", request: { method: "GET", url: "https://example.com/ping" } }],
        },
      }),
    );
    expect(created.collection.name).toBe("Made by MCP");
    const full = json<{ collection: { info: { name: string }; item: { name: string }[] } }>(
      await call(pm, "getCollection", { collectionId: created.collection.uid, model: "full" }),
    );
    expect(full.collection.info.name).toBe("Made by MCP");
    expect(full.collection.item.map((i) => i.name)).toEqual(["Ping"]);
  });

  it("a 404 is an isError result (templated for some tools)", async () => {
    const col = await call(pm, "getCollection", { collectionId: "missing" });
    expect(col.isError).toBe(true);
    expect(text(col)).toBe("MCP error -32603: API request failed: 404");

    const ws = await call(pm, "getWorkspace", { workspaceId: "missing" });
    expect(ws.isError).toBe(true);
    expect(text(ws)).toContain("Workspace not found: missing");
    expect(text(ws)).toContain("We could not find the workspace you are looking for");
  });

  it("sends the API key in x-api-key", () => {
    expect(fake.requests.length).toBeGreaterThanOrEqual(8);
    for (const r of fake.requests) expect(r.headers["x-api-key"]).toBe(DUMMY_CREDENTIALS.POSTMAN_API_KEY);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain("POST /collections");
  });
});

describe("memory and everything entries", () => {
  it("start and list their tools", async () => {
    const home = await withTempHome();
    try {
      const mem = await connect("memory", { home: home.home, dataDir: `${home.home}/data` });
      try {
        expect((await mem.client.listTools()).tools).toHaveLength(9);
      } finally {
        await mem.close();
      }
      const ev = await connect("everything", { home: home.home });
      try {
        expect((await ev.client.listTools()).tools.length).toBeGreaterThanOrEqual(13);
      } finally {
        await ev.close();
      }
    } finally {
      await home.cleanup();
    }
  });
});

describe("redirect preload refuses non-loopback hosts", () => {
  it("a real server without a mapping for its API host fails fast with the refusal", async () => {
    const home = await withTempHome();
    const gh = await connect("github", { home: home.home }); // no fakes: AMCP_REDIRECT = {}
    const tr = await connect("trello", { home: home.home });
    try {
      const err = await call(gh, "get_issue", {
        owner: "octocat",
        repo: "hello-world",
        issue_number: 1,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).message).toContain(
        "redirect-preload: refused non-loopback host api.github.com",
      );

      const r = await call(tr, "list_boards", {});
      expect(r.isError).toBe(true);
      expect(text(r)).toContain("redirect-preload: refused non-loopback host api.trello.com");
    } finally {
      await gh.close();
      await tr.close();
      await home.cleanup();
    }
  });

  it("refuses fetch, http(s).request/get and raw sockets before any DNS lookup or connect", async () => {
    // The child spies on dns.lookup (after the preload is installed) and on every socket connect that
    // gets past the preload; neither may see example.com.
    const script = `
      import dns from "node:dns";
      import http from "node:http";
      import https from "node:https";
      import net from "node:net";
      const lookups = [];
      const origLookup = dns.lookup;
      dns.lookup = function (host, ...rest) { lookups.push(host); return origLookup.call(this, host, ...rest); };
      dns.promises.lookup = async (host) => { lookups.push(host); throw new Error("no dns in tests"); };
      const results = {};
      const outcome = (p) => p.then(() => "NOT REFUSED", (e) => String(e?.message ?? e));
      results.fetch = await outcome(fetch("https://example.com/"));
      results.fetchHttp = await outcome(fetch("http://example.org:8080/x"));
      results.httpsGet = await outcome(new Promise((res, rej) => https.get("https://example.com/", res).on("error", rej)));
      results.httpRequest = await outcome(new Promise((res, rej) => {
        const req = http.request({ host: "example.net", port: 80, path: "/", method: "POST" }, res);
        req.on("error", rej);
        req.end("body");
      }));
      results.socket = await outcome(new Promise((res, rej) => net.connect(443, "example.com", res).on("error", rej)));
      results.ipv4 = await outcome(fetch("http://93.184.215.14/"));
      // A loopback server redirecting elsewhere: fetch follows it inside undici, past the fetch wrapper;
      // the socket backstop still refuses it.
      const srv = http.createServer((q, s) => { s.writeHead(302, { location: "https://example.com/next" }); s.end(); });
      await new Promise((r) => srv.listen(0, "127.0.0.1", r));
      results.redirect = await fetch("http://127.0.0.1:" + srv.address().port + "/").then(
        () => "NOT REFUSED",
        (e) => String(e?.cause?.message ?? e?.message ?? e),
      );
      srv.close();
      results.lookups = lookups;
      process.stdout.write(JSON.stringify(results));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [`--import=${pathToFileURL(redirectPreloadPath).href}`, "--input-type=module", "-e", script],
        {
          env: {
            PATH: process.env["PATH"] ?? "",
            AMCP_REDIRECT: JSON.stringify({ "api.github.com": "http://127.0.0.1:9" }),
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`child exited ${code}: ${stderr}`));
      });
    });
    const r = JSON.parse(out) as Record<string, string | string[]>;
    expect(r["fetch"]).toBe("redirect-preload: refused non-loopback host example.com");
    expect(r["fetchHttp"]).toBe("redirect-preload: refused non-loopback host example.org");
    expect(r["httpsGet"]).toBe("redirect-preload: refused non-loopback host example.com");
    expect(r["httpRequest"]).toBe("redirect-preload: refused non-loopback host example.net");
    expect(r["socket"]).toBe("redirect-preload: refused non-loopback host example.com");
    expect(r["ipv4"]).toBe("redirect-preload: refused non-loopback host 93.184.215.14");
    expect(r["redirect"]).toBe("redirect-preload: refused non-loopback host example.com");
    // Only the loopback server's own address may have been looked up.
    expect((r["lookups"] as string[]).filter((h) => h !== "127.0.0.1" && h !== "localhost")).toEqual([]);
  });
});
