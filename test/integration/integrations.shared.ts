/**
 * Shared plumbing of the integration suites (`integrations*.test.ts`): the shipped config, the test
 * environment that points the real servers at the fake SaaS APIs, and process inspection.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { expect } from "vitest";
import { ROOT } from "../helpers/aggregator.js";
import { DUMMY_CREDENTIALS, redirectPreloadPath } from "../helpers/real-servers.js";

export { DUMMY_CREDENTIALS };

/** The config file we ship, used as is or as the base of a derived test config. */
export const SHIPPED_CONFIG = path.join(ROOT, "servers.config.json");

export const PACKAGES = {
  github: "@modelcontextprotocol/server-github",
  memory: "@modelcontextprotocol/server-memory",
  trello: "@delorenj/mcp-server-trello",
  postman: "@postman/postman-mcp-server",
} as const;

export type ServerName = keyof typeof PACKAGES;

export interface ShippedEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
  [key: string]: unknown;
}

export interface ShippedConfig {
  mcpServers: Record<ServerName, ShippedEntry>;
  [key: string]: unknown;
}

export function readShippedConfig(): ShippedConfig {
  return JSON.parse(readFileSync(SHIPPED_CONFIG, "utf8")) as ShippedConfig;
}

/** `NODE_OPTIONS` value that loads the redirect preload (a file URL needs no quoting). */
export const PRELOAD_NODE_OPTIONS = `--import=${pathToFileURL(redirectPreloadPath).href}`;

/** The aggregator's own environment for the four servers with dummy credentials. */
export function credentialEnv(home: string, postmanUrl: string): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "",
    HOME: home,
    GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY_CREDENTIALS.GITHUB_PERSONAL_ACCESS_TOKEN,
    TRELLO_API_KEY: DUMMY_CREDENTIALS.TRELLO_API_KEY,
    TRELLO_TOKEN: DUMMY_CREDENTIALS.TRELLO_TOKEN,
    POSTMAN_API_KEY: DUMMY_CREDENTIALS.POSTMAN_API_KEY,
    POSTMAN_API_BASE_URL: postmanUrl,
  };
}

export interface ChildInfo {
  readonly pid: number;
  readonly args: string;
}

/** Direct children of a process (`ps -o pid=,args= --ppid PID`). */
export function childrenOf(pid: number): ChildInfo[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there is no such process
  }
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2] ?? "" }));
}

/** The child of `aggregatorPid` running `pkg` (matched on its resolved bin path). */
export function childRunning(aggregatorPid: number, pkg: string): ChildInfo | undefined {
  return childrenOf(aggregatorPid).find((c) => c.args.includes(`/node_modules/${pkg}/`));
}

/**
 * Evidence for the local-package fast path: every server is a direct child of the aggregator, runs as
 * `<node> <…/node_modules/<pkg>/…bin>` and has no children of its own (npx would show up as `npm exec …`
 * with the server as a grandchild).
 */
export function expectLocalLaunch(
  aggregatorPid: number,
  servers: readonly ServerName[],
): Map<ServerName, number> {
  const all = childrenOf(aggregatorPid);
  // Besides the servers, `serve` runs its orphan watchdog (a shell; docs/operations.md#shutdown).
  const children = all.filter((c) => !c.args.includes("autonomous-mcp orphan watchdog"));
  expect(all.length - children.length).toBeLessThanOrEqual(1);
  expect(children, JSON.stringify(all)).toHaveLength(servers.length);
  const pids = new Map<ServerName, number>();
  for (const name of servers) {
    const child = children.find((c) => c.args.includes(`/node_modules/${PACKAGES[name]}/`));
    expect(child, `${name} child in ${JSON.stringify(children)}`).toBeDefined();
    if (!child) continue;
    expect(child.args.startsWith(`${process.execPath} `)).toBe(true);
    expect(child.args).not.toMatch(/\bnpx\b|npm exec|npm-cli/);
    expect(childrenOf(child.pid)).toEqual([]);
    pids.set(name, child.pid);
  }
  return pids;
}

/** The environment a running process was started with (Linux /proc). */
export function environOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
  const env: Record<string, string> = {};
  for (const pair of raw.split("\0")) {
    const i = pair.indexOf("=");
    if (i > 0) env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return env;
}

/** Tools per running server, as the aggregator's `status` tool counts them (skipped servers: 0). */
export async function serverToolCounts(client: Client): Promise<Record<string, number>> {
  const status = (await client.callTool({ name: "status", arguments: {} })) as CallToolResult;
  const servers = (status.structuredContent as { servers: { name: string; tools: number }[] }).servers;
  return Object.fromEntries(servers.filter((s) => s.tools > 0).map((s) => [s.name, s.tools]));
}

export function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

/** A successful result's text parsed as JSON. */
export function json<T = Record<string, unknown>>(result: unknown): T {
  expect((result as CallToolResult).isError ?? false, text(result)).toBe(false);
  return JSON.parse(text(result)) as T;
}
