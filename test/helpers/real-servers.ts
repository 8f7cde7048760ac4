import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Real downstream MCP servers (installed from npm) as stdio entries for tests, wired to the fake SaaS
 * APIs in `test/fixtures/fake-apis/` so that nothing leaves loopback:
 *  - GitHub and Trello hard-code their API hosts: the child gets `NODE_OPTIONS=--import=<redirect preload>`
 *    and `AMCP_REDIRECT` mapping `api.github.com` / `api.trello.com` to the fakes.
 *  - Postman reads `POSTMAN_API_BASE_URL`; it gets the preload too (as a guard: any other host is refused).
 *  - Without a fake, the preload still runs with an empty map: every non-loopback request is refused.
 */

const require = createRequire(import.meta.url);

/** Absolute path of the redirect preload (`test/fixtures/redirect-preload.mjs`). */
export const redirectPreloadPath: string = fileURLToPath(
  new URL("../fixtures/redirect-preload.mjs", import.meta.url),
);

/** Absolute path of the fake APIs' entry module (`test/fixtures/fake-apis/index.mjs`). */
export const fakeApisPath: string = fileURLToPath(
  new URL("../fixtures/fake-apis/index.mjs", import.meta.url),
);

export const REAL_SERVER_PACKAGES = {
  github: "@modelcontextprotocol/server-github",
  trello: "@delorenj/mcp-server-trello",
  postman: "@postman/postman-mcp-server",
  memory: "@modelcontextprotocol/server-memory",
  everything: "@modelcontextprotocol/server-everything",
} as const;

export type RealServerName = keyof typeof REAL_SERVER_PACKAGES;

/** The dummy credentials each real server is given (tests assert they reach the fake API). */
export const DUMMY_CREDENTIALS = {
  GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_dummy_test_token_123",
  TRELLO_API_KEY: "trello_dummy_key_456",
  TRELLO_TOKEN: "trello_dummy_token_789",
  POSTMAN_API_KEY: "PMAK-dummy-0123",
} as const;

/** Absolute path of a package's bin script (its only bin, or the one named like the package). */
export function resolveBin(pkgName: string): string {
  const pkgJsonPath = require.resolve(`${pkgName}/package.json`);
  const pkg = require(pkgJsonPath) as { name?: string; bin?: string | Record<string, string> };
  let rel: string | undefined;
  if (typeof pkg.bin === "string") rel = pkg.bin;
  else if (pkg.bin) {
    const entries = Object.entries(pkg.bin);
    const short = pkgName.split("/").pop() ?? pkgName;
    rel = (entries.length === 1 ? entries[0]?.[1] : undefined) ?? pkg.bin[short] ?? entries[0]?.[1];
  }
  if (!rel) throw new Error(`${pkgName} has no bin in ${pkgJsonPath}`);
  return path.resolve(path.dirname(pkgJsonPath), rel);
}

export interface RealServerOptions {
  /** The child's HOME (Trello writes `$HOME/.trello-mcp/`, Postman `$HOME/.postman/`). */
  home: string;
  /** Base URLs of the fake APIs (`startFakeGithub().url`, ...). */
  fakes?: { github?: string; trello?: string; postman?: string };
  /** Folder for data files (memory: `MEMORY_FILE_PATH=<dataDir>/memory.jsonl`); defaults to `home`. */
  dataDir?: string;
}

export interface StdioEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

function preloadEnv(redirect: Record<string, string>): Record<string, string> {
  return {
    // A file URL needs no quoting in NODE_OPTIONS, even if the path has spaces.
    NODE_OPTIONS: `--import=${pathToFileURL(redirectPreloadPath).href}`,
    AMCP_REDIRECT: JSON.stringify(redirect),
  };
}

/** A stdio entry (`{command, args, env}`) that runs a real server against the fakes. */
export function realServerEntry(name: RealServerName, opts: RealServerOptions): StdioEntry {
  const bin = resolveBin(REAL_SERVER_PACKAGES[name]);
  const home = path.resolve(opts.home);
  const base: Record<string, string> = { HOME: home, USERPROFILE: home };
  switch (name) {
    case "github": {
      const redirect: Record<string, string> = {};
      if (opts.fakes?.github) redirect["api.github.com"] = opts.fakes.github;
      return {
        command: process.execPath,
        args: [bin],
        env: {
          ...base,
          GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN,
          ...preloadEnv(redirect),
        },
      };
    }
    case "trello": {
      const redirect: Record<string, string> = {};
      if (opts.fakes?.trello) redirect["api.trello.com"] = opts.fakes.trello;
      return {
        command: process.execPath,
        args: [bin],
        env: {
          ...base,
          TRELLO_API_KEY: DUMMY_CREDENTIALS.TRELLO_API_KEY,
          TRELLO_TOKEN: DUMMY_CREDENTIALS.TRELLO_TOKEN,
          ...preloadEnv(redirect),
        },
      };
    }
    case "postman": {
      const redirect: Record<string, string> = {};
      if (opts.fakes?.postman) {
        redirect["api.postman.com"] = opts.fakes.postman;
        redirect["api.eu.postman.com"] = opts.fakes.postman;
      }
      return {
        command: process.execPath,
        args: [bin],
        env: {
          ...base,
          POSTMAN_API_KEY: DUMMY_CREDENTIALS.POSTMAN_API_KEY,
          // Without a fake, a loopback port nobody listens on: calls fail fast instead of leaving the machine.
          POSTMAN_API_BASE_URL: opts.fakes?.postman ?? "http://127.0.0.1:9",
          POSTMAN_MCP_TELEMETRY: "false",
          ...preloadEnv(redirect),
        },
      };
    }
    case "memory": {
      const dataDir = path.resolve(opts.dataDir ?? home);
      mkdirSync(dataDir, { recursive: true }); // server-memory needs the folder to exist
      return {
        command: process.execPath,
        args: [bin],
        env: { ...base, MEMORY_FILE_PATH: path.join(dataDir, "memory.jsonl") },
      };
    }
    case "everything":
      return { command: process.execPath, args: [bin, "stdio"], env: { ...base } };
  }
}

/** A fresh temporary folder to use as a child's HOME; `cleanup()` removes it. */
export async function withTempHome(): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(path.join(tmpdir(), "amcp-home-"));
  return { home, cleanup: () => rm(home, { recursive: true, force: true, maxRetries: 3 }) };
}

/**
 * Closes an SDK client on a stdio child quickly. Some real servers ignore stdin EOF (Trello; everything
 * while its timers run), which costs the SDK's 2 s grace period: after `graceMs` the child gets SIGTERM.
 */
export async function closeStdioClient(
  client: { close(): Promise<void> },
  transport: { readonly pid: number | null },
  graceMs = 200,
): Promise<void> {
  const pid = transport.pid;
  const timer =
    pid === null
      ? undefined
      : setTimeout(() => {
          try {
            process.kill(pid, "SIGTERM");
          } catch {
            // already gone
          }
        }, graceMs);
  try {
    await client.close();
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ typed access to the fake APIs

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface FakeApi {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The fake's in-memory store (shape is the fixture's business). */
  state: unknown;
  close(): Promise<void>;
}

export interface FakeTrello extends FakeApi {
  seed: {
    memberId: string;
    otherMemberId: string;
    organizationId: string;
    boardId: string;
    personalBoardId: string;
    lists: { todo: string; doing: string; done: string };
    cards: { readme: string; loginBug: string; dashboard: string };
    labels: { bug: string; feature: string };
    checklistId: string;
  };
}

export interface FakePostman extends FakeApi {
  seed: {
    userId: number;
    workspaces: { mine: string; team: string };
    collectionId: string;
    collectionUid: string;
    environments: { staging: string; production: string };
  };
}

interface FakeApisModule {
  startFakeGithub(opts?: { token?: string }): Promise<FakeApi>;
  startFakeTrello(opts?: { key?: string; token?: string }): Promise<FakeTrello>;
  startFakePostman(opts?: { apiKey?: string }): Promise<FakePostman>;
}

let fakeApis: Promise<FakeApisModule> | undefined;
function loadFakeApis(): Promise<FakeApisModule> {
  fakeApis ??= import(pathToFileURL(fakeApisPath).href) as Promise<FakeApisModule>;
  return fakeApis;
}

/** Fake api.github.com (see `test/fixtures/fake-apis/github.mjs`). `token`: the only accepted PAT. */
export async function startFakeGithub(opts?: { token?: string }): Promise<FakeApi> {
  return (await loadFakeApis()).startFakeGithub(opts);
}

/** Fake api.trello.com (see `test/fixtures/fake-apis/trello.mjs`). */
export async function startFakeTrello(opts?: { key?: string; token?: string }): Promise<FakeTrello> {
  return (await loadFakeApis()).startFakeTrello(opts);
}

/** Fake api.postman.com (see `test/fixtures/fake-apis/postman.mjs`). */
export async function startFakePostman(opts?: { apiKey?: string }): Promise<FakePostman> {
  return (await loadFakeApis()).startFakePostman(opts);
}
