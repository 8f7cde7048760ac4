import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { AggregatorError, isAggregatorError } from "../../src/errors.js";
import { toolErrorToResult } from "../../src/front/errorMap.js";
import { browserCommand } from "../../src/oauth/browser.js";
import { authCell, authStatus } from "../../src/oauth/status.js";
import { dataDir, TokenStore } from "../../src/oauth/store.js";
import { collectSecrets } from "../../src/secrets.js";
import { tempDir, type TempDir } from "../helpers/aggregator.js";

const dirs: TempDir[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.cleanup();
});
async function dir(): Promise<string> {
  const d = await tempDir("amcp-oauth-unit-");
  dirs.push(d);
  return d.dir;
}

const TOKENS = {
  access_token: "at_visible-if-leaked-123456",
  refresh_token: "rt_visible-if-leaked-654321",
  token_type: "Bearer",
};

describe("the token store", () => {
  it("keeps tokens encrypted in a 0600 file with a 0600 key beside it", async () => {
    const d = await dir();
    const store = new TokenStore(d, undefined);
    await store.update("github", () => ({ tokens: TOKENS, url: "http://x/mcp" }));
    const blob = await readFile(store.file);
    expect(blob.includes(TOKENS.access_token)).toBe(false);
    expect(blob.includes(TOKENS.refresh_token)).toBe(false);
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(d, "oauth-tokens.key"))).mode & 0o777).toBe(0o600);
    // Another process (a fresh store) reads it back.
    expect((await new TokenStore(d, undefined).get("github"))?.tokens).toEqual(TOKENS);
  });

  it("a wrong key is a clear error naming the key's source and the way out; the file is kept", async () => {
    const d = await dir();
    await new TokenStore(d, "the-right-key").update("github", () => ({ tokens: TOKENS }));
    const before = await readFile(path.join(d, "oauth-tokens.enc"));
    const wrong = new TokenStore(d, "another-key");
    const error = await wrong.get("github").catch((e: unknown) => e);
    expect(isAggregatorError(error, "AUTH_REQUIRED")).toBe(true);
    expect((error as Error).message).toContain("AUTONOMOUS_MCP_TOKEN_KEY");
    expect((error as Error).message).toContain("autonomous-mcp logout");
    expect((error as Error).message).not.toContain("the-right-key");
    expect(await readFile(path.join(d, "oauth-tokens.enc"))).toEqual(before);
    expect((await new TokenStore(d, "the-right-key").get("github"))?.tokens).toEqual(TOKENS);
  });

  it("a damaged file is a clear error, not a crash", async () => {
    const d = await dir();
    const store = new TokenStore(d, "k");
    await store.update("a", () => ({ tokens: TOKENS }));
    await writeFile(store.file, Buffer.from([1, 2, 3]));
    await expect(new TokenStore(d, "k").get("a")).rejects.toThrow(
      /cannot decrypt .*wrong key or damaged file/,
    );
  });

  it("keeps other servers when one is removed; concurrent updates are all kept", async () => {
    const store = new TokenStore(await dir(), "k");
    await Promise.all(
      ["a", "b", "c"].map((s) => store.update(s, () => ({ tokens: { access_token: `at_${s}` } }))),
    );
    expect(await store.remove("b")).toBe(true);
    expect(await store.remove("b")).toBe(false);
    expect((await store.get("a"))?.tokens?.access_token).toBe("at_a");
    expect(await store.get("b")).toBeUndefined();
    expect((await store.get("c"))?.tokens?.access_token).toBe("at_c");
  });

  it("lives in AUTONOMOUS_MCP_DATA_DIR, else $XDG_DATA_HOME/autonomous-mcp, else ~/.local/share/autonomous-mcp", () => {
    expect(dataDir({ AUTONOMOUS_MCP_DATA_DIR: "/tmp/own", XDG_DATA_HOME: "/x" })).toBe("/tmp/own");
    expect(dataDir({ XDG_DATA_HOME: "/x" })).toBe("/x/autonomous-mcp");
    expect(dataDir({ XDG_DATA_HOME: "relative", HOME: "/home/u" })).toBe(
      "/home/u/.local/share/autonomous-mcp",
    );
  });
});

describe("doctor's auth column", () => {
  it("says the kind and the token state, never the token", async () => {
    const store = new TokenStore(await dir(), "k");
    const s = { name: "gh", url: "http://x/mcp", headers: {}, auth: { type: "oauth" as const } };
    expect(await authStatus(s, store, 0)).toEqual({ kind: "oauth", token: "none" });
    await store.update("gh", () => ({
      tokens: TOKENS,
      url: "http://x/mcp",
      expiresAt: 1_000,
      lifetimeMs: 1_000,
    }));
    const valid = await authStatus(s, store, 500);
    expect(valid).toMatchObject({
      token: "valid",
      refreshAvailable: true,
      expiresAt: new Date(1_000).toISOString(),
    });
    expect(await authStatus(s, store, 1_000)).toMatchObject({ token: "expired", refreshAvailable: true });
    // Tokens obtained for another URL do not count.
    expect(await authStatus({ ...s, url: "http://y/mcp" }, store, 0)).toEqual({
      kind: "oauth",
      token: "none",
    });
    expect(authCell(valid)).toBe(`oauth: valid until ${new Date(1_000).toISOString()}, refresh available`);
    expect(JSON.stringify(valid)).not.toContain("at_");
    expect(await authStatus({ name: "p", headers: { Authorization: "Bearer x" } }, store, 0)).toEqual({
      kind: "header",
    });
  });
});

describe("the auth config block", () => {
  const parse = (entry: Record<string, unknown>, env: Record<string, string> = {}) =>
    parseConfig(JSON.stringify({ mcpServers: { s: entry } }), "servers.config.json", { env });
  const problems = (entry: Record<string, unknown>): string => {
    try {
      parse(entry);
    } catch (error) {
      expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
      return (error as Error).message;
    }
    throw new Error("accepted");
  };

  it("is accepted on an http server; clientSecret is ${VAR} expanded and treated as a secret", () => {
    const loaded = parse(
      {
        url: "https://api.example.test/mcp/",
        auth: { type: "oauth", clientId: "id", clientSecret: "${SECRET}", scopes: ["repo"] },
      },
      { SECRET: "confidential-client-secret" },
    );
    const s = loaded.servers[0];
    expect(s?.auth).toEqual({
      type: "oauth",
      clientId: "id",
      clientSecret: "confidential-client-secret",
      scopes: ["repo"],
    });
    expect(collectSecrets(loaded.servers)).toContain("confidential-client-secret");
  });

  it("is refused, with its path, on stdio and sse servers, or with a bad type or port; an unknown key is a warning", () => {
    expect(problems({ command: "x", auth: { type: "oauth" } })).toMatch(/mcpServers\.s\.auth.*http servers/);
    expect(problems({ url: "https://h.test/sse", type: "sse", auth: { type: "oauth" } })).toMatch(
      /mcpServers\.s\.auth/,
    );
    const typo = parse({ url: "https://h.test/mcp", auth: { type: "oauth", clientid: "x" } });
    expect(typo.warnings.join("\n")).toMatch(/mcpServers\.s\.auth.*clientid.*ignored/);
    expect(typo.servers[0]?.auth).toEqual({ type: "oauth" });
    expect(problems({ url: "https://h.test/mcp", auth: { type: "basic" } })).toMatch(
      /mcpServers\.s\.auth\.type/,
    );
    expect(problems({ url: "https://h.test/mcp", auth: { type: "oauth", redirectPort: 70000 } })).toMatch(
      /redirectPort/,
    );
  });

  it("client_credentials: a machine client with a secret or a private key (expanded, secret), refused otherwise", () => {
    const pem =
      "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----";
    const loaded = parse(
      {
        url: "https://api.example.test/mcp",
        auth: {
          type: "client_credentials",
          clientId: "m2m",
          privateKey: "${KEY}",
          issuer: "https://as.test",
        },
      },
      { KEY: pem },
    );
    expect(loaded.servers[0]?.auth).toMatchObject({ type: "client_credentials", privateKey: pem });
    // Every line of the key is scrubbed from the logs.
    expect(collectSecrets(loaded.servers)).toEqual(
      expect.arrayContaining([pem, "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"]),
    );
    const url = "https://h.test/mcp";
    expect(problems({ url, auth: { type: "client_credentials", clientSecret: "${S}" } })).toMatch(
      /mcpServers\.s\.auth\.clientId: "client_credentials" and "cross_app_access" need "clientId"/,
    );
    expect(problems({ url, auth: { type: "client_credentials", clientId: "m" } })).toMatch(
      /needs exactly one of "clientSecret" and "privateKey"/,
    );
    expect(
      problems({
        url,
        auth: { type: "client_credentials", clientId: "m", clientSecret: "${S}", privateKey: "${K}" },
      }),
    ).toMatch(/needs exactly one of "clientSecret" and "privateKey"/);
    expect(problems({ url, auth: { type: "oauth", privateKey: "${K}" } })).toMatch(
      /"privateKey" and "algorithm" apply to "type": "client_credentials" only/,
    );
    expect(problems({ url, auth: { type: "oauth", issuer: "https://as.test" } })).toMatch(
      /mcpServers\.s\.auth\.issuer: "issuer" applies to "client_credentials" and "cross_app_access" only/,
    );
    const idp = { tokenEndpoint: "https://idp.test/token", clientId: "c", idToken: "${ID_TOKEN}" };
    expect(problems({ url, auth: { type: "cross_app_access", clientId: "m", idp } })).toMatch(
      /mcpServers\.s\.auth\.idp: "cross_app_access" needs "clientSecret" and "idp"/,
    );
    expect(problems({ url, auth: { type: "oauth", idp } })).toMatch(
      /"idp" applies to "type": "cross_app_access" only/,
    );
    const xaa = parse(
      { url, auth: { type: "cross_app_access", clientId: "m", clientSecret: "${S}", idp } },
      { S: "xaa-client-secret", ID_TOKEN: "eyJhbGciOiJSUzI1NiJ9.id-token-body.sig" },
    );
    expect(xaa.servers[0]?.auth?.idp?.idToken).toBe("eyJhbGciOiJSUzI1NiJ9.id-token-body.sig");
    expect(collectSecrets(xaa.servers)).toEqual(
      expect.arrayContaining(["xaa-client-secret", "eyJhbGciOiJSUzI1NiJ9.id-token-body.sig"]),
    );
    expect(
      problems({ url, auth: { type: "oauth", clientMetadataUrl: "http://client.test/meta.json" } }),
    ).toMatch(/mcpServers\.s\.auth\.clientMetadataUrl: must be an https URL with a path/);
    expect(
      parse({ url, auth: { type: "oauth", clientMetadataUrl: "https://client.test/meta.json" } }).servers[0]
        ?.auth,
    ).toEqual({ type: "oauth", clientMetadataUrl: "https://client.test/meta.json" });
  });

  it("a clientSecret written into the file is a warning naming the variable to use", () => {
    const loaded = parse({
      url: "https://h.test/mcp",
      auth: { type: "oauth", clientId: "i", clientSecret: "s3cr3t-value" },
    });
    expect(loaded.warnings.join("\n")).toContain(
      'mcpServers.s.auth.clientSecret: looks like a secret written into the file; set it in the environment and write "${S_CLIENT_SECRET}"',
    );
    expect(
      parse({ url: "https://h.test/mcp", auth: { type: "oauth", clientSecret: "${X}" } }, { X: "v" })
        .warnings,
    ).toEqual([]);
  });

  it("an unset clientSecret variable is named", () => {
    expect(problems({ url: "https://h.test/mcp", auth: { type: "oauth", clientSecret: "${NOPE}" } })).toMatch(
      /auth\.clientSecret: unset NOPE/,
    );
  });
});

describe("AUTH_REQUIRED at the edge", () => {
  it("is an isError result naming the login command", () => {
    const error = new AggregatorError(
      "AUTH_REQUIRED",
      "github: the OAuth token was refused; run: autonomous-mcp login github",
    );
    const result = toolErrorToResult(error, "github_get_me");
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("autonomous-mcp login github");
  });
});

describe("opening a browser", () => {
  it("only where there is one and not in CI", () => {
    expect(browserCommand({ CI: "1", DISPLAY: ":0" }, "linux")).toBeUndefined();
    expect(browserCommand({}, "linux")).toBeUndefined();
    expect(browserCommand({ DISPLAY: ":0" }, "linux")).toEqual(["xdg-open"]);
    expect(browserCommand({}, "darwin")).toEqual(["open"]);
    expect(browserCommand({ BROWSER: "firefox" }, "linux")).toEqual(["firefox"]);
    expect(browserCommand({ AUTONOMOUS_MCP_NO_BROWSER: "1" }, "darwin")).toBeUndefined();
  });
});

describe("login and logout on the command line", () => {
  it("parse the server, --no-browser and --timeout", async () => {
    const { parseCommandLine } = await import("../../src/cli/program.js");
    expect(parseCommandLine(["login", "github", "--no-browser", "--timeout", "5", "-c", "x.json"])).toEqual({
      kind: "login",
      args: { config: "x.json", server: "github", browser: false, timeoutMs: 5_000 },
    });
    expect(parseCommandLine(["login", "github"])).toMatchObject({
      kind: "login",
      args: { browser: true, timeoutMs: 300_000 },
    });
    expect(parseCommandLine(["logout", "github"])).toMatchObject({
      kind: "logout",
      args: { server: "github" },
    });
  });

  it("refuse a missing server, a stray word and a bad timeout with one line", async () => {
    const { parseCommandLine } = await import("../../src/cli/program.js");
    expect(parseCommandLine(["login"])).toMatchObject({
      kind: "usage",
      message: expect.stringMatching(/^autonomous-mcp login: .*server.*; see autonomous-mcp login --help$/),
    });
    expect(parseCommandLine(["logout", "a", "b"])).toMatchObject({
      kind: "usage",
      message: expect.stringContaining('unexpected argument "b"'),
    });
    expect(parseCommandLine(["login", "a", "--timeout", "0"])).toMatchObject({
      kind: "usage",
      message: expect.stringContaining("--timeout must be a whole number of seconds"),
    });
  });
});
