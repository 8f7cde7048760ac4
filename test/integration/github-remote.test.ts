import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAuthServer, type FakeAuthServer } from "../fixtures/oauth/authServer.js";
import {
  GITHUB_TOOL_SNAPSHOTS,
  startFakeGithubMcp,
  type FakeGithubMcp,
} from "../fixtures/oauth/githubMcp.js";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { approveInBrowser, cliLogin, oauthEnv } from "../helpers/oauth.js";
import { realServerEntry, startFakeTrello, type FakeTrello } from "../helpers/real-servers.js";

/**
 * GitHub's own remote MCP server (a fake on loopback with the official tool snapshots) behind OAuth, with
 * the real memory and Trello servers: a user logs in once, then calls GitHub tools and the three shipped
 * GitHub workflows through the aggregator across three expiries of a 2-second access token. Every expiry
 * costs exactly one refresh (rotation: each refresh token works once), and there is one consent in all.
 */

interface Outcome {
  status: string;
  output: Record<string, unknown> | null;
  trace: { id: string; status: string }[];
}
interface Card {
  id: string;
  name: string;
  desc: string;
  idList: string;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

function ok(result: unknown): Outcome {
  const r = result as CallToolResult;
  expect(r.isError ?? false, text(r)).toBe(false);
  const o = r.structuredContent as unknown as Outcome;
  expect(o.status, text(r)).toBe("ok");
  return o;
}

function latestAccessExpiry(as: FakeAuthServer): number {
  let latest = 0;
  for (const t of as.issued.values())
    if (t.kind === "access" && !t.revoked) latest = Math.max(latest, t.expiresAt ?? 0);
  return latest;
}

describe("GitHub's remote server over OAuth: tools and shipped workflows past the token's life", () => {
  let tmp: TempDir;
  let as: FakeAuthServer;
  let gh: FakeGithubMcp;
  let trello: FakeTrello;
  let h: StdioHarness;
  let memoryFile: string;
  let loginOutput: string;
  let env: ReturnType<typeof oauthEnv>;
  let config: string;

  beforeAll(async () => {
    tmp = await tempDir("amcp-github-remote-");
    as = await startFakeAuthServer({ accessTokenTtlSec: 2 });
    [gh, trello] = await Promise.all([startFakeGithubMcp(as), startFakeTrello()]);
    const home = path.join(tmp.dir, "home");
    const memory = realServerEntry("memory", { home, dataDir: path.join(tmp.dir, "memory") });
    memoryFile = memory.env["MEMORY_FILE_PATH"] ?? "";
    config = await writeConfig(tmp.dir, {
      mcpServers: {
        github: { url: gh.url, auth: { type: "oauth" } },
        trello: realServerEntry("trello", { home, fakes: { trello: trello.url } }),
        memory,
      },
    });
    env = oauthEnv(tmp.dir);
    const login = await cliLogin(config, "github", env);
    expect(login.code, login.stderr).toBe(0);
    loginOutput = login.stderr;
    h = await startStdio(config, { env });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([gh?.close(), as?.close(), trello?.close()]);
    await tmp?.cleanup();
  });

  it("lists the official tools verbatim and serves the workflows' variant for GitHub's own server", async () => {
    const tools = (await h.client.listTools()).tools;
    const github = tools.filter((t) => t.name.startsWith("github_"));
    expect(github.map((t) => t.name).sort()).toEqual(
      GITHUB_TOOL_SNAPSHOTS.map((n) => `github_${n}`)
        .concat(["github_issue_to_trello_card"])
        .sort(),
    );
    const snap = JSON.parse(
      readFileSync(new URL("../fixtures/oauth/github-toolsnaps/issue_read.snap", import.meta.url), "utf8"),
    ) as { inputSchema: unknown };
    expect(tools.find((t) => t.name === "github_issue_read")?.inputSchema).toEqual(snap.inputSchema);
    const triage = tools.find((t) => t.name === "triage_github_issues");
    expect(Object.keys(triage?.inputSchema.properties ?? {})).toContain("labels");
    expect(tools.map((t) => t.name)).toContain("remember_github_repository");
  });

  it("calls tools and runs every GitHub workflow across three token expiries with one consent", async () => {
    for (let expiry = 1; expiry <= 3; expiry++) {
      const until = latestAccessExpiry(as);
      await waitFor(() => Date.now() > until + 20, 15_000);
      const refreshes = as.stats.refreshes;

      const me = await h.client.callTool({ name: "github_get_me", arguments: {} });
      expect(text(me)).toContain('"login":"octo-tester"');

      const triage = ok(
        await h.client.callTool({
          name: "triage_github_issues",
          arguments: { owner: "octo", repo: "demo", list_id: trello.seed.lists.doing, labels: ["bug"] },
        }),
      );
      expect(triage.output).toMatchObject({ issues: 1, summary_entity: "Trello triage of octo/demo" });

      const copied = ok(
        await h.client.callTool({
          name: "github_issue_to_trello_card",
          arguments: { owner: "octo", repo: "demo", issue_number: 2, list_id: trello.seed.lists.todo },
        }),
      );
      expect(copied.output).toMatchObject({
        issue_url: "https://github.com/octo/demo/issues/2",
        memory_entity: "octo/demo#2",
      });

      const remembered = ok(
        await h.client.callTool({
          name: "remember_github_repository",
          arguments: { owner: "octo", repo: "demo", limit: 2 },
        }),
      );
      expect(remembered.output).toEqual({
        repository: "octo/demo",
        url: "https://github.com/octo/demo",
        issues: 2,
      });

      // Exactly one refresh per expiry, whatever ran; never a new consent.
      expect(as.stats.refreshes, `expiry ${expiry}`).toBe(refreshes + 1);
    }
    expect(as.stats.authorizations).toBe(1);
    expect(as.stats.refused.filter((r) => r.startsWith("invalid_grant"))).toEqual([]);
    expect(gh.calls.get("issue_read")).toBe(3);
    expect(gh.calls.get("list_issues")).toBe(6);

    // The cards: one per labelled open issue and one per copied issue, titled and linked from GitHub.
    const cards = [...(trello.state as { cards: Map<string, Card> }).cards.values()];
    const made = cards.filter((c) => c.desc.startsWith("https://github.com/octo/demo/issues/"));
    expect(made.map((c) => `${c.name} | ${c.desc}`).sort()).toEqual(
      [
        ...Array(3).fill("Document the login command | https://github.com/octo/demo/issues/2"),
        ...Array(3).fill("Token refresh loses the session | https://github.com/octo/demo/issues/1"),
      ].sort(),
    );
    // The knowledge graph: the repository, its two most recently updated issues, related.
    expect(existsSync(memoryFile)).toBe(true);
    const graph = (await readFile(memoryFile, "utf8")).split("\n").filter(Boolean);
    const lines = graph.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "entity", name: "octo/demo", entityType: "github_repository" }),
        expect.objectContaining({
          type: "entity",
          name: "octo/demo#3",
          observations: [
            "title: Workflows fail behind a proxy",
            "state: OPEN",
            "url: https://github.com/octo/demo/issues/3",
          ],
        }),
        expect.objectContaining({
          type: "relation",
          from: "octo/demo#2",
          to: "octo/demo",
          relationType: "belongs_to",
        }),
      ]),
    );

    // No token in clear text anywhere: the token file, the login's and the aggregator's output.
    const file = await readFile(path.join(env.AUTONOMOUS_MCP_DATA_DIR, "oauth-tokens.enc"));
    for (const token of as.issued.keys()) {
      expect(file.includes(token)).toBe(false);
      expect(loginOutput.includes(token) || h.stderr().includes(token)).toBe(false);
    }
  }, 90_000);

  it("revoked mid-way: a shipped workflow's GitHub step asks the caller to sign in (URL elicitation) and the run succeeds", async () => {
    const caller = await startStdio(config, { env, capabilities: { elicitation: { url: {} } } });
    try {
      const asked: string[] = [];
      caller.client.setRequestHandler(ElicitRequestSchema, (request) => {
        const params = request.params as { mode?: string; url?: string };
        asked.push(params.mode ?? "form");
        if (params.url) void approveInBrowser(params.url);
        return { action: "accept" };
      });
      expect(text(await caller.client.callTool({ name: "github_get_me", arguments: {} }))).toContain(
        "octo-tester",
      );
      const consents = as.stats.authorizations;
      as.revokeAll();
      const run = ok(
        await caller.client.callTool({
          name: "github_issue_to_trello_card",
          arguments: { owner: "octo", repo: "demo", issue_number: 1, list_id: trello.seed.lists.done },
        }),
      );
      expect(run.output).toMatchObject({ issue_url: "https://github.com/octo/demo/issues/1" });
      expect(run.trace.map((t) => `${t.id}:${t.status}`)).toEqual([
        "issue:ok",
        "card:ok",
        "remember:ok",
        "link:ok",
        "relate:ok",
      ]);
      expect(asked).toEqual(["url"]);
      expect(as.stats.authorizations).toBe(consents + 1);
    } finally {
      await caller.close();
    }
  }, 60_000);

  it("a bad argument for the official schema is refused before it reaches GitHub, naming the field", async () => {
    const before = gh.calls.get("list_issues") ?? 0;
    const refused = await h.client.callTool({
      name: "github_list_issues",
      arguments: { owner: "octo", repo: "demo", state: "open" },
    });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("state");
    expect(gh.calls.get("list_issues") ?? 0).toBe(before);
    // The server is still fine for the next call.
    expect(text(await h.client.callTool({ name: "github_get_me", arguments: {} }))).toContain("octo-tester");
  });
});
