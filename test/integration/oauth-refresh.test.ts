import { spawn } from "node:child_process";
import path from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { createOAuthSessions, type OAuthSession } from "../../src/oauth/session.js";
import { TokenStore } from "../../src/oauth/store.js";
import { startFakeAuthServer } from "../fixtures/oauth/authServer.js";
import { startFakeGithubMcp } from "../fixtures/oauth/githubMcp.js";
import { CLI, tempDir, writeConfig } from "../helpers/aggregator.js";

/**
 * The 401 path of the OAuth session (src/oauth/session.ts), with the real SDK transport: a clock that
 * lags behind the authorization server's, so no refresh starts before expiry and every request meets a
 * 401 first. Ten concurrent requests on ten connections make one refresh; the rotated refresh token is
 * saved before anyone uses it, so no request ever presents a spent one.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The fakes, a config and a login through the built CLI (the test plays the browser). */
async function loggedIn() {
  const tmp = await tempDir("amcp-oauth-401-");
  const as = await startFakeAuthServer({ accessTokenTtlSec: 3600 });
  const gh = await startFakeGithubMcp(as);
  cleanups.push(
    () => tmp.cleanup(),
    () => as.close(),
    () => gh.close(),
  );
  const config = await writeConfig(tmp.dir, {
    mcpServers: { github: { url: gh.url, auth: { type: "oauth" } } },
  });
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: tmp.dir,
    AUTONOMOUS_MCP_DATA_DIR: path.join(tmp.dir, "data"),
    CI: "1",
  };
  const child = spawn(process.execPath, [CLI, "login", "github", "--no-browser", "--config", config], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let approved: Promise<void> | undefined;
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/authorize\S+)$/m.exec(stderr)?.[1];
    if (url && !approved) {
      approved = fetch(url, { redirect: "manual" }).then(
        async (r) => void (await fetch(r.headers.get("location") ?? "")).text(),
      );
    }
  });
  expect(await new Promise((r) => child.once("exit", r))).toBe(0);
  await approved;
  return { as, gh, dataDir: env.AUTONOMOUS_MCP_DATA_DIR };
}

/** A client connected through `session`'s bearer token. */
async function connect(url: string, session: OAuthSession): Promise<Client> {
  const client = new Client({ name: "t", version: "1" });
  cleanups.push(() => client.close());
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      authProvider: session.authProvider(),
      fetch: session.trackingFetch(fetch),
    }),
  );
  return client;
}

describe("one refresh in flight per server, on 401s", () => {
  it("ten connections refused at once make exactly one refresh, then all succeed", async () => {
    const { as, gh, dataDir } = await loggedIn();
    // The server now refuses every token issued so far as "expired"; our clock says they are fresh.
    const lines: string[] = [];
    const log = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } });
    const sessions = createOAuthSessions(log, new TokenStore(dataDir, undefined), () => 0);
    const session = sessions.sessionFor("github", gh.url, { type: "oauth" });
    for (const t of as.issued.values()) if (t.kind === "access") t.expiresAt = Date.now() - 1;

    const clients = await Promise.all(Array.from({ length: 10 }, () => connect(gh.url, session)));
    expect(as.stats.refreshes).toBe(1);
    expect(session.refreshCount).toBe(1);
    const results = await Promise.all(clients.map((c) => c.callTool({ name: "get_me", arguments: {} })));
    for (const r of results) expect(r.isError).toBeFalsy();
    expect(as.stats.refused.filter((r) => r.startsWith("invalid_grant"))).toEqual([]);
    expect(gh.refused).toBeGreaterThanOrEqual(1);
    // The refresh is logged without its tokens.
    expect(lines.join("\n")).toContain("OAuth token refreshed");
    for (const token of as.issued.keys()) expect(lines.join("\n")).not.toContain(token);
  }, 60_000);

  it("two processes sharing the token file refresh once between them (a lock file), and both go on", async () => {
    const { as, gh, dataDir } = await loggedIn();
    const log = createLogger({ level: "silent" });
    // Two aggregators (own stores, own sessions) sharing one token file, as two processes would.
    const a = createOAuthSessions(log, new TokenStore(dataDir, undefined), () => 0);
    const b = createOAuthSessions(log, new TokenStore(dataDir, undefined), () => 0);
    const sa = a.sessionFor("github", gh.url, { type: "oauth" });
    const sb = b.sessionFor("github", gh.url, { type: "oauth" });
    for (const t of as.issued.values()) if (t.kind === "access") t.expiresAt = Date.now() - 1;

    const [ca, cb] = await Promise.all([connect(gh.url, sa), connect(gh.url, sb)]);
    for (const c of [ca, cb])
      expect((await c.callTool({ name: "get_me", arguments: {} })).isError).toBeFalsy();
    // Still logged in: the stored tokens are live ones.
    const stored = await new TokenStore(dataDir, undefined).get("github");
    expect(as.introspect(stored?.tokens?.access_token ?? "")).toBeDefined();
    expect(as.stats.authorizations).toBe(1);
    expect(as.stats.refreshes).toBe(1);
    expect(sa.refreshCount + sb.refreshCount).toBe(1);
    expect(as.stats.refused).toEqual([]);
  }, 60_000);
});
