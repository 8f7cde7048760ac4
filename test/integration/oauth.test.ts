import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TokenStore } from "../../src/oauth/store.js";
import {
  startFakeAuthServer,
  type FakeAuthOptions,
  type FakeAuthServer,
} from "../fixtures/oauth/authServer.js";
import { startFakeGithubMcp, type FakeGithubMcp } from "../fixtures/oauth/githubMcp.js";
import {
  CLI,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * OAuth 2.1 to a remote MCP server, end to end with real processes: the built CLI logs in against a fake
 * authorization server (the test plays the browser), then serves a fake of GitHub's remote MCP server
 * through the aggregator for longer than the access token lives.
 */

interface World {
  readonly tmp: TempDir;
  readonly as: FakeAuthServer;
  readonly gh: FakeGithubMcp;
  readonly config: string;
  readonly env: { PATH: string; HOME: string; AUTONOMOUS_MCP_DATA_DIR: string; CI: string };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function world(
  asOptions: FakeAuthOptions,
  auth: Record<string, unknown> = { type: "oauth" },
): Promise<World> {
  const tmp = await tempDir("amcp-oauth-");
  const as = await startFakeAuthServer(asOptions);
  const gh = await startFakeGithubMcp(as);
  cleanups.push(
    () => tmp.cleanup(),
    () => as.close(),
    () => gh.close(),
  );
  const config = await writeConfig(tmp.dir, { mcpServers: { github: { url: gh.url, auth } } });
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: tmp.dir,
    AUTONOMOUS_MCP_DATA_DIR: path.join(tmp.dir, "data"),
    CI: "1",
  };
  return { tmp, as, gh, config, env };
}

interface Run {
  readonly code: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

/** Runs a CLI command; `browser` plays the user: it gets the sign-in URL printed on stderr. */
function cli(w: World, args: string[], browser?: (url: string) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args, "--config", w.config], {
    env: w.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  let browsed = false;
  let failure: unknown;
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/authorize\S+)$/m.exec(stderr)?.[1];
    if (url && browser && !browsed) {
      browsed = true;
      browser(url).catch((error: unknown) => (failure = error));
    }
  });
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => (failure ? reject(failure as Error) : resolve({ code, stderr, stdout }))),
  );
}

/** The browser: the fake AS approves at once and redirects to the CLI's loopback listener. */
async function approve(url: string): Promise<void> {
  const answer = await fetch(url, { redirect: "manual" });
  expect(answer.status).toBe(302);
  const callback = answer.headers.get("location") ?? "";
  expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
  const landed = await fetch(callback);
  expect(landed.status).toBe(200);
}

function latestAccessExpiry(as: FakeAuthServer): number {
  let latest = 0;
  for (const t of as.issued.values())
    if (t.kind === "access" && !t.revoked) latest = Math.max(latest, t.expiresAt ?? 0);
  return latest;
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

async function serve(w: World): Promise<StdioHarness> {
  const h = await startStdio(w.config, { env: w.env });
  cleanups.push(() => h.close());
  return h;
}

describe("OAuth 2.1 to an http downstream", () => {
  it("logs in, then calls GitHub tools past several token expiries: one refresh per expiry under 10 concurrent calls, no new consent", async () => {
    const w = await world({ accessTokenTtlSec: 2 });
    const login = await cli(w, ["login", "github", "--no-browser"], approve);
    expect(login.stderr).toContain('Logged in to "github"');
    expect(login.code).toBe(0);
    expect(w.as.stats).toMatchObject({ registrations: 1, authorizations: 1, codeExchanges: 1, refreshes: 0 });

    const h = await serve(w);
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    const getMe = names.find((n) => n.endsWith("get_me"));
    const listIssues = names.find((n) => n.endsWith("list_issues"));
    expect(getMe && listIssues).toBeTruthy();
    const me = await h.client.callTool({ name: getMe ?? "", arguments: {} });
    expect(me.isError).toBeFalsy();
    expect(textOf(me)).toContain("octo-tester");

    for (let expiry = 1; expiry <= 3; expiry++) {
      const until = latestAccessExpiry(w.as);
      await waitFor(() => Date.now() > until + 20, 15_000);
      const before = w.as.stats.refreshes;
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          h.client.callTool({
            name: listIssues ?? "",
            arguments: { owner: "octo", repo: "demo", state: "OPEN" },
          }),
        ),
      );
      for (const r of results) {
        expect(r.isError, textOf(r)).toBeFalsy();
        expect(textOf(r)).toContain("Token refresh loses the session");
      }
      expect(w.as.stats.refreshes).toBe(before + 1);
    }
    expect(w.as.stats.authorizations).toBe(1);
    expect(w.as.stats.refused.filter((r) => r.startsWith("invalid_grant"))).toEqual([]);

    // No token in clear text: not in the token file, not in any output of the aggregator or login.
    const file = await readFile(path.join(w.env.AUTONOMOUS_MCP_DATA_DIR, "oauth-tokens.enc"));
    const outputs = [login.stderr, login.stdout, h.stderr()].join("\n");
    for (const token of w.as.issued.keys()) {
      expect(file.includes(token)).toBe(false);
      expect(outputs.includes(token)).toBe(false);
    }
  }, 60_000);

  it("stores tokens 0600 and encrypted; logout revokes and removes them; doctor shows the token state", async () => {
    const w = await world({});
    expect((await cli(w, ["login", "github", "--no-browser"], approve)).code).toBe(0);
    const dir = w.env.AUTONOMOUS_MCP_DATA_DIR;
    expect((await stat(path.join(dir, "oauth-tokens.enc"))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, "oauth-tokens.key"))).mode & 0o777).toBe(0o600);

    const doctor = await cli(w, ["doctor", "--json"]);
    const row = (JSON.parse(doctor.stdout) as { servers: { server: string; state: string; auth: unknown }[] })
      .servers[0];
    expect(row).toMatchObject({
      server: "github",
      state: "ready",
      auth: { kind: "oauth", token: "valid", refreshAvailable: true },
    });
    for (const token of w.as.issued.keys()) expect(doctor.stdout + doctor.stderr).not.toContain(token);

    const out = await cli(w, ["logout", "github"]);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain("revoked at the authorization server");
    expect([...w.as.issued.values()].every((t) => t.revoked)).toBe(true);
    const store = new TokenStore(dir, undefined);
    expect(await store.get("github")).toBeUndefined();

    const after = await cli(w, ["doctor", "--json"]);
    const again = (
      JSON.parse(after.stdout) as { servers: { state: string; lastError: string; auth: unknown }[] }
    ).servers[0];
    expect(again).toMatchObject({ state: "failed", auth: { kind: "oauth", token: "none" } });
    expect(again?.lastError).toContain("autonomous-mcp login github");
    expect(after.code).toBe(1);
  }, 60_000);

  it("a revoked token makes the call answer isError naming login; nothing else is lost", async () => {
    const w = await world({});
    expect((await cli(w, ["login", "github", "--no-browser"], approve)).code).toBe(0);
    const h = await serve(w);
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    const getMe = names.find((n) => n.endsWith("get_me")) ?? "";
    expect((await h.client.callTool({ name: getMe, arguments: {} })).isError).toBeFalsy();

    w.as.revokeAll();
    const refused = await h.client.callTool({ name: getMe, arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("autonomous-mcp login github");
    // The aggregator itself still answers; its status tool names the server's trouble without a token.
    expect((await h.client.listTools()).tools.length).toBeGreaterThan(0);
    const status = textOf(await h.client.callTool({ name: "status", arguments: {} }));
    expect(status).toContain("github");
    for (const token of w.as.issued.keys()) expect(status).not.toContain(token);

    // A new login while the aggregator runs: the next call succeeds with no restart.
    expect((await cli(w, ["login", "github", "--no-browser"], approve)).code).toBe(0);
    const back = await h.client.callTool({ name: getMe, arguments: {} });
    expect(back.isError, textOf(back)).toBeFalsy();
    for (const token of w.as.issued.keys()) expect(h.stderr()).not.toContain(token);
  }, 60_000);

  it("an authorization server without registration needs a pre-registered client id, and says so", async () => {
    const w = await world({ registration: false, preRegistered: [{ client_id: "amcp-preregistered" }] });
    const refused = await cli(w, ["login", "github", "--no-browser", "--timeout", "5"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"clientId"');
    expect(w.as.stats.authorizations).toBe(0);

    const w2 = await world(
      { registration: false, preRegistered: [{ client_id: "amcp-preregistered" }] },
      { type: "oauth", clientId: "amcp-preregistered" },
    );
    expect((await cli(w2, ["login", "github", "--no-browser"], approve)).code).toBe(0);
    expect(w2.as.stats).toMatchObject({ registrations: 0, codeExchanges: 1 });
    const h = await serve(w2);
    const getMe =
      (await h.client.listTools()).tools.map((t) => t.name).find((n) => n.endsWith("get_me")) ?? "";
    expect((await h.client.callTool({ name: getMe, arguments: {} })).isError).toBeFalsy();
  }, 60_000);

  it("login refuses a server that is not an OAuth http server, naming the fix", async () => {
    const w = await world({});
    const unknown = await cli(w, ["login", "gitlab"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no server "gitlab"');
    expect(unknown.stderr).toContain("github");
  }, 30_000);
});
