/**
 * The shipped `servers.config.json` itself (not a copy), run by the built CLI:
 *  - with no credentials, memory alone is served and each other server gets one "skipped" line;
 *  - with (dummy) credentials in the aggregator's environment, all four start.
 *
 * What the shipped entries pass to their children: the base variables (HOME, PATH, …, proxies,
 * NODE_EXTRA_CA_CERTS) plus the entry's own `env`. So `POSTMAN_API_BASE_URL` reaches Postman (its entry
 * says `${POSTMAN_API_BASE_URL:-https://api.postman.com}`), but `NODE_OPTIONS` / `AMCP_REDIRECT` in the
 * aggregator's environment do NOT reach GitHub or Trello: their hard-coded API hosts are not redirected
 * by the shipped file, so this suite never calls them (integrations.test.ts does, with a derived config).
 * The preload in the aggregator's own NODE_OPTIONS keeps the aggregator itself on loopback, and
 * HTTPS_PROXY (inherited) points at a dead loopback port in case Trello's axios ever sent a request.
 */
import path from "node:path";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planLaunch } from "../../src/downstream/launch.js";
import {
  ROOT,
  startStdio,
  tempDir,
  waitFor,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { startFakePostman, type FakePostman } from "../helpers/real-servers.js";
import {
  GITHUB_TOOL_SNAPSHOTS,
  startFakeGithubMcp,
  type FakeGithubMcp,
} from "../fixtures/oauth/githubMcp.js";
import {
  DUMMY_CREDENTIALS,
  PRELOAD_NODE_OPTIONS,
  SHIPPED_CONFIG,
  credentialEnv,
  environOf,
  expectLocalLaunch,
  json,
  serverToolCounts,
  text,
} from "./integrations.shared.js";

/**
 * The shipped config keeps the default start-up grace (3 s): on a loaded machine a server may join after
 * initialize. The summary line names such servers, and a second line follows once all have settled.
 */
async function everyServerSettled(h: StdioHarness): Promise<void> {
  await waitFor(
    () => {
      const err = h.stderr();
      return (
        err.includes("serving the MCP client on stdin") &&
        (!err.includes("still starting") || err.includes("every server has settled"))
      );
    },
    60_000,
    50,
  );
}

describe("the shipped servers.config.json without credentials", () => {
  let tmp: TempDir;
  let h: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir("amcp-shipped-bare-");
    h = await startStdio(SHIPPED_CONFIG, { env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir } });
    await everyServerSettled(h);
  });
  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("serves memory alone and prints one line per skipped server", async () => {
    const { tools } = await h.client.listTools();
    expect(await serverToolCounts(h.client)).toEqual({ memory: 9 });
    expect(tools.filter((t) => t.name.startsWith("memory_"))).toHaveLength(9);
    expect(tools.map((t) => t.name)).not.toContain("github_issue_read");
    expectLocalLaunch(h.pid as number, ["memory"]);

    const lines = h.stderr().split("\n");
    expect(lines.filter((l) => / skipped \(/.test(l) && !l.startsWith("autonomous-mcp:")).sort()).toEqual([
      "github: skipped (set GITHUB_PERSONAL_ACCESS_TOKEN)",
      "postman-remote: skipped (disabled in config)",
      "postman: skipped (set POSTMAN_API_KEY)",
      "trello: skipped (set TRELLO_API_KEY, TRELLO_TOKEN)",
    ]);

    // Memory works offline, in $HOME/.autonomous-mcp/ (folder created for it).
    json(
      await h.client.callTool({
        name: "memory_create_entities",
        arguments: {
          entities: [{ name: "Offline", entityType: "note", observations: ["no credentials needed"] }],
        },
      }),
    );
    expect(await readFile(path.join(tmp.dir, ".autonomous-mcp", "memory.jsonl"), "utf8")).toContain(
      '"name":"Offline"',
    );

    const status = await h.client.callTool({ name: "status", arguments: {} });
    expect(text(status)).toContain("github: skipped (set GITHUB_PERSONAL_ACCESS_TOKEN)");
  });
});

describe("the shipped servers.config.json with credentials", () => {
  let tmp: TempDir;
  let postman: FakePostman;
  let github: FakeGithubMcp;
  let h: StdioHarness;

  beforeAll(async () => {
    [tmp, postman, github] = await Promise.all([
      tempDir("amcp-shipped-creds-"),
      startFakePostman({ apiKey: DUMMY_CREDENTIALS.POSTMAN_API_KEY }),
      // GitHub's remote server, reached through the preload: the shipped URL is api.githubcopilot.com.
      startFakeGithubMcp(undefined, { pat: DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN }),
    ]);
    h = await startStdio(SHIPPED_CONFIG, {
      env: {
        ...credentialEnv(tmp.dir, postman.url),
        NODE_OPTIONS: PRELOAD_NODE_OPTIONS,
        AMCP_REDIRECT: JSON.stringify({ "api.githubcopilot.com": new URL(github.url).origin }),
        HTTPS_PROXY: "http://127.0.0.1:9",
      },
    });
    // The shipped config keeps the default start-up grace (3 s): on a loaded machine a server may join
    // after initialize; the summary line names it, and a second line follows once all have settled.
    await everyServerSettled(h);
  });
  afterAll(async () => {
    await h?.close();
    await postman?.close();
    await github?.close();
    await tmp?.cleanup();
  });

  it("starts the three npm servers from the local packages and reaches GitHub's remote server", async () => {
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    expect(await serverToolCounts(h.client)).toEqual({
      github: GITHUB_TOOL_SNAPSHOTS.length,
      memory: 9,
      trello: 57,
      postman: 42,
    });
    for (const n of ["github_issue_read", "memory_read_graph", "trello_get_lists", "postman_getWorkspaces"])
      expect(names).toContain(n);
    // The workflows in the variant for GitHub's own server (github_issue_read is there).
    expect(names).toEqual(expect.arrayContaining(["github_issue_to_trello_card", "triage_github_issues"]));
    expectLocalLaunch(h.pid as number, ["memory", "trello", "postman"]);
    expect(h.stderr()).not.toContain("skipped (set");
    // The personal access token went as the bearer header: the fake accepts nothing else here.
    const me = json(await h.client.callTool({ name: "github_get_me", arguments: {} }));
    expect(me).toMatchObject({ login: "octo-tester" });
    expect(github.calls.get("get_me")).toBe(1);
  });

  it("passes each child its own entry's env on top of the base list, nothing else", () => {
    const pids = expectLocalLaunch(h.pid as number, ["memory", "trello", "postman"]);
    const envOf = (name: "memory" | "trello" | "postman") => environOf(pids.get(name) as number);
    const tr = envOf("trello");
    // The aggregator's NODE_OPTIONS / AMCP_REDIRECT are not inherited: the shipped entries do not list them.
    expect(tr["NODE_OPTIONS"]).toBeUndefined();
    expect(tr["AMCP_REDIRECT"]).toBeUndefined();
    expect(tr["HOME"]).toBe(tmp.dir);
    expect(tr["HTTPS_PROXY"]).toBe("http://127.0.0.1:9"); // proxies are in the base list
    expect(envOf("trello")).toMatchObject({
      TRELLO_API_KEY: DUMMY_CREDENTIALS.TRELLO_API_KEY,
      TRELLO_TOKEN: DUMMY_CREDENTIALS.TRELLO_TOKEN,
      TRELLO_BOARD_ID: "",
    });
    expect(envOf("trello")["GITHUB_PERSONAL_ACCESS_TOKEN"]).toBeUndefined();
    expect(envOf("postman")).toMatchObject({
      POSTMAN_API_KEY: DUMMY_CREDENTIALS.POSTMAN_API_KEY,
      POSTMAN_API_BASE_URL: postman.url,
    });
    expect(envOf("memory")).toMatchObject({
      MEMORY_FILE_PATH: path.join(tmp.dir, ".autonomous-mcp", "memory.jsonl"),
    });
    expect(envOf("memory")["GITHUB_PERSONAL_ACCESS_TOKEN"]).toBeUndefined();
  });

  it("reaches Postman at POSTMAN_API_BASE_URL through the shipped entry", async () => {
    const ws = await h.client.callTool({ name: "postman_getWorkspaces", arguments: {} });
    expect(text(ws)).toContain("| Team APIs | team |");
    expect(postman.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /workspaces"]);
    expect(postman.requests[0]?.headers["x-api-key"]).toBe(DUMMY_CREDENTIALS.POSTMAN_API_KEY);
  });
});

describe("the local-package fast path for the shipped npx entries", () => {
  it("runs the installed bin for `npx -y <pkg>`, `@latest` and the installed version, and leaves other pins to npx", async () => {
    const pkg = "@modelcontextprotocol/server-github";
    const { version } = JSON.parse(
      await readFile(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8"),
    ) as {
      version: string;
    };
    for (const spec of [pkg, `${pkg}@latest`, `${pkg}@${version}`]) {
      const plan = planLaunch("npx", ["-y", spec, "--flag"], [ROOT]);
      expect(plan, spec).toMatchObject({ command: process.execPath, via: "local-package", packageName: pkg });
      expect(plan.args.slice(1)).toEqual(["--flag"]);
    }
    for (const spec of [`${pkg}@0.0.1`, `${pkg}@^1`, `${pkg}@next`, "not-an-installed-package"]) {
      expect(planLaunch("npx", ["-y", spec], [ROOT]), spec).toEqual({
        command: "npx",
        args: ["-y", spec],
        via: "direct",
      });
    }
  });
});
