import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, type ChildProcess } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ClientCapabilities } from "@modelcontextprotocol/server";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = path.join(ROOT, "dist", "cli.js");
export const EVERYTHING_BIN = path.join(
  ROOT,
  "node_modules",
  "@modelcontextprotocol",
  "server-everything",
  "dist",
  "index.js",
);
export const MEMORY_BIN = path.join(
  ROOT,
  "node_modules",
  "@modelcontextprotocol",
  "server-memory",
  "dist",
  "index.js",
);

export interface TempDir {
  readonly dir: string;
  cleanup(): Promise<void>;
}

export async function tempDir(prefix = "amcp-test-"): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function memoryEntry(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    command: process.execPath,
    args: [MEMORY_BIN],
    env: { MEMORY_FILE_PATH: path.join(dataDir, "memory.jsonl") },
    ...extra,
  };
}

export function everythingEntry(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [EVERYTHING_BIN, "stdio"], ...extra };
}

/**
 * Writes a config file. Unless the config sets `startup`, the start-up grace is made long (60 s) so that
 * tests written before the grace existed still see every server at initialize on a loaded machine;
 * test/integration/startup-grace.test.ts covers the short default.
 */
export async function writeConfig(
  dir: string,
  config: unknown,
  name = "servers.config.json",
): Promise<string> {
  const file = path.join(dir, name);
  const withGrace =
    config !== null && typeof config === "object" && !Array.isArray(config) && !("startup" in config)
      ? { ...config, startup: { graceMs: 60_000 } }
      : config;
  await writeFile(file, JSON.stringify(withGrace, null, 2));
  return file;
}

export interface StdioHarness {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  readonly stderr: () => string;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export const FULL_CLIENT_CAPS: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {} },
  roots: { listChanged: true },
};

/** Spawns the built CLI over stdio with a config file and connects an SDK client to it. */
export async function startStdio(
  configPath: string,
  options: { capabilities?: ClientCapabilities; env?: Record<string, string>; args?: string[] } = {},
): Promise<StdioHarness> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "serve", "--config", configPath, ...(options.args ?? [])],
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...(options.env ?? {}) },
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const client = new Client(
    { name: "test-client", version: "1.0.0" },
    { capabilities: options.capabilities ?? {} },
  );
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => err,
    pid: transport.pid ?? undefined,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}

export interface HttpHarness {
  readonly url: string;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  connect(capabilities?: ClientCapabilities): Promise<Client>;
  close(): Promise<void>;
}

/** Spawns the built CLI with --transport http --port 0 and waits for its "listening on" line. */
export async function startHttp(
  configPath: string,
  options: { env?: Record<string, string>; args?: string[] } = {},
): Promise<HttpHarness> {
  const child = spawn(
    process.execPath,
    [CLI, "serve", "--config", configPath, "--transport", "http", "--port", "0", ...(options.args ?? [])],
    {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...(options.env ?? {}) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr:\n${err}`)), 20_000);
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
      const m = /listening on (http:\/\/[^\s;]+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`aggregator exited with ${code}; stderr:\n${err}`)));
  });
  const clients: Client[] = [];
  return {
    url,
    child,
    stderr: () => err,
    connect: async (capabilities = {}) => {
      const client = new Client({ name: "test-http-client", version: "1.0.0" }, { capabilities });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push(client);
      return client;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 25,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error("condition not met in time");
}
