import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAuthServer, type FakeAuthServer } from "../fixtures/oauth/authServer.js";
import { startFakeGithubMcp, type FakeGithubMcp } from "../fixtures/oauth/githubMcp.js";
import { Client as ModernClient } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { CLI, startHttp, startStdio, tempDir, waitFor, writeConfig } from "../helpers/aggregator.js";
import { MODERN } from "../helpers/modern.js";
import { approveInBrowser, cliLogin, oauthEnv } from "../helpers/oauth.js";

/**
 * A token refused at call time (revoked at the authorization server): the aggregator asks the CALLING
 * client to sign in with a 2025-11-25 URL-mode elicitation pointing at the authorization URL, runs the
 * authorization-code flow itself (its own loopback redirect), and answers the call once the user is back.
 * Clients that cannot elicit URLs, or decline, get the isError naming `autonomous-mcp login`.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Elicited {
  mode?: string;
  url?: string;
  message?: string;
  elicitationId?: string;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

async function loggedIn(): Promise<{
  as: FakeAuthServer;
  gh: FakeGithubMcp;
  config: string;
  env: Record<string, string>;
}> {
  const tmp = await tempDir("amcp-oauth-elicit-");
  const as = await startFakeAuthServer({});
  const gh = await startFakeGithubMcp(as);
  cleanups.push(
    () => tmp.cleanup(),
    () => as.close(),
    () => gh.close(),
  );
  const config = await writeConfig(tmp.dir, {
    mcpServers: { github: { url: gh.url, auth: { type: "oauth" } } },
  });
  const env = oauthEnv(tmp.dir);
  const login = await cliLogin(config, "github", env);
  expect(login.code, login.stderr).toBe(0);
  return { as, gh, config, env };
}

/** The user: accepts the elicitation, then signs in in the browser (out of band, as a person would). */
function signsIn(client: Client, seen: Elicited[], action: "accept" | "decline" = "accept"): void {
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    const params = request.params as Elicited;
    seen.push(params);
    if (action === "accept" && params.url) void approveInBrowser(params.url);
    return { action };
  });
}

describe("a refused token at call time: URL elicitation to the caller, then success", () => {
  it("stdio: the revoked token leads to one URL elicitation, a sign-in, and the call's own result", async () => {
    const { as, gh, config, env } = await loggedIn();
    const h = await startStdio(config, { env, capabilities: { elicitation: { url: {} } } });
    cleanups.push(() => h.close());
    const seen: Elicited[] = [];
    signsIn(h.client, seen);
    expect((await h.client.callTool({ name: "github_get_me", arguments: {} })).isError).toBeFalsy();

    as.revokeAll();
    const calls = gh.calls.get("get_me") ?? 0;
    const result = await h.client.callTool({ name: "github_get_me", arguments: {} });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toContain("octo-tester");
    expect(gh.calls.get("get_me")).toBe(calls + 1);

    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ mode: "url", elicitationId: expect.any(String) });
    expect(seen[0]?.message).toContain('Sign in to "github"');
    const url = new URL(seen[0]?.url ?? "");
    expect(url.origin).toBe(as.issuer);
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(url.searchParams.get("resource")).toBe(gh.url);
    expect(as.stats.authorizations).toBe(2);

    // The next calls use the new tokens without asking again; no token ever reached the log.
    expect((await h.client.callTool({ name: "github_get_me", arguments: {} })).isError).toBeFalsy();
    expect(seen).toHaveLength(1);
    for (const token of as.issued.keys()) expect(h.stderr()).not.toContain(token);
  }, 60_000);

  it("http, two clients at once: the elicitation reaches only the caller; the other then calls without one", async () => {
    const { as, config, env } = await loggedIn();
    const h = await startHttp(config, { env });
    cleanups.push(() => h.close());
    const caller = await h.connect({ elicitation: { url: {} } });
    const other = await h.connect({ elicitation: { url: {} } });
    const toCaller: Elicited[] = [];
    const toOther: Elicited[] = [];
    signsIn(caller, toCaller);
    signsIn(other, toOther);
    for (const c of [caller, other])
      expect((await c.callTool({ name: "github_get_me", arguments: {} })).isError).toBeFalsy();

    as.revokeAll();
    // The other client is busy with the aggregator meanwhile (a call of its own in flight).
    const [result, status] = await Promise.all([
      caller.callTool({ name: "github_get_me", arguments: {} }),
      other.callTool({ name: "status", arguments: {} }),
    ]);
    expect(result.isError, text(result)).toBeFalsy();
    expect(status.isError).toBeFalsy();
    expect(toCaller).toHaveLength(1);
    expect(toOther).toHaveLength(0);

    const after = await other.callTool({ name: "github_get_me", arguments: {} });
    expect(after.isError, text(after)).toBeFalsy();
    expect(toOther).toHaveLength(0);
    expect(as.stats.authorizations).toBe(2);
  }, 60_000);

  it("a client that cannot elicit URLs gets the isError naming login, and no sign-in is started", async () => {
    const { as, config, env } = await loggedIn();
    // Form-mode elicitation only: a 2025-06-18-style client.
    const h = await startStdio(config, { env, capabilities: { elicitation: { form: {} } } });
    cleanups.push(() => h.close());
    const seen: Elicited[] = [];
    signsIn(h.client, seen);
    as.revokeAll();
    const refused = await h.client.callTool({ name: "github_get_me", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("autonomous-mcp login github");
    expect(seen).toEqual([]);
    expect(as.stats.authorizations).toBe(1);
  }, 60_000);

  it("a user who declines gets the isError naming login; the aggregator goes on", async () => {
    const { as, config, env } = await loggedIn();
    const h = await startStdio(config, { env, capabilities: { elicitation: { url: {} } } });
    cleanups.push(() => h.close());
    const seen: Elicited[] = [];
    signsIn(h.client, seen, "decline");
    as.revokeAll();
    const refused = await h.client.callTool({ name: "github_get_me", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("autonomous-mcp login github");
    expect(seen).toHaveLength(1);
    expect(as.stats.codeExchanges).toBe(1);
    // Nobody waits for that sign-in any more: it stops (its loopback listener closes) at once.
    await waitFor(() => h.stderr().includes("OAuth sign-in ended"), 10_000);
    const status = await h.client.callTool({ name: "status", arguments: {} });
    expect(status.isError).toBeFalsy();
  }, 60_000);
});

describe("a refused token at call time, 2026-07-28 client: the sign-in URL as input_required", () => {
  it("stdio: the held call answers input_required with the URL elicitation; the retry gets the result", async () => {
    const { as, gh, config, env } = await loggedIn();
    const seen: Elicited[] = [];
    const client = new ModernClient(
      { name: "modern-oauth-client", version: "1.0.0" },
      { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
    );
    // The SDK's input_required driver answers the embedded elicitation through this handler, then retries.
    client.setRequestHandler("elicitation/create", async (request) => {
      const params = request.params as Elicited;
      seen.push(params);
      if (params.url) void approveInBrowser(params.url);
      return { action: "accept" };
    });
    await client.connect(
      new ModernStdio({
        command: process.execPath,
        args: [CLI, "serve", "--config", config],
        env,
        stderr: "pipe",
      }),
    );
    cleanups.push(() => client.close());
    expect((await client.callTool({ name: "github_get_me", arguments: {} })).isError).toBeFalsy();

    as.revokeAll();
    const calls = gh.calls.get("get_me") ?? 0;
    const result = await client.callTool({ name: "github_get_me", arguments: {} });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toContain("octo-tester");
    expect(gh.calls.get("get_me")).toBe(calls + 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ mode: "url" });
    expect(new URL(seen[0]?.url ?? "").origin).toBe(as.issuer);
    expect(as.stats.authorizations).toBe(2);
  }, 60_000);
});
