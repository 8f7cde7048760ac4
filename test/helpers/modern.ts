/**
 * Helpers for the 2026-07-28 ("modern") front tests: a v2 SDK client pinned to 2026-07-28, the fixture
 * server entries, and a raw line peer for the stdio front (hand-built messages the SDK client would
 * never send).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { CLI } from "./aggregator.js";

export const V2_FIXTURE = fileURLToPath(new URL("../fixtures/v2-server.mjs", import.meta.url));
export const MODERN = "2026-07-28";

/** The `_meta` envelope a 2026-07-28 request carries. */
export function envelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "raw-modern", version: "1.0.0" },
    ...overrides,
  };
}

export function v2Entry(era: string, name = era): Record<string, unknown> {
  return { command: process.execPath, args: [V2_FIXTURE, "--era", era, "--name", name] };
}

function childEnv(): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" };
}

/** A v2 client pinned to 2026-07-28 over stdio to the built CLI (the aggregator runs in that child). */
export async function modernStdioClient(configPath: string): Promise<Client> {
  const client = new Client(
    { name: "modern-test-client", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", "--config", configPath],
      env: childEnv(),
      stderr: "pipe",
    }),
  );
  return client;
}

/** A v2 client pinned to 2026-07-28 over Streamable HTTP. */
export async function modernHttpClient(
  url: string,
  options: { token?: string; name?: string } = {},
): Promise<Client> {
  const client = new Client(
    { name: options.name ?? "modern-test-client", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface LinePeer {
  readonly child: ChildProcess;
  send(message: unknown): void;
  sendRaw(line: string): void;
  /** The first message from the aggregator matching `pick` (answers and notifications), waiting for it. */
  next(pick: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  answer(id: string | number, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr(): string;
  close(): Promise<void>;
}

/** Spawns the built CLI over stdio and talks raw JSON lines to it. */
export function linePeer(configPath: string): LinePeer {
  const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
    env: childEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const seen: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString("utf8")));
  child.stdout?.on("data", (c: Buffer) => {
    buffer += c.toString("utf8");
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) seen.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of [...waiters]) w();
  });
  const next = (pick: (m: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): void => {
        const i = seen.findIndex(pick);
        if (i === -1) return;
        const [found] = seen.splice(i, 1);
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found as Record<string, unknown>);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching message; seen ${JSON.stringify(seen)}; stderr:\n${err}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    child,
    send: (message) => child.stdin?.write(`${JSON.stringify(message)}\n`),
    sendRaw: (line) => child.stdin?.write(`${line}\n`),
    next,
    answer: (id, timeoutMs) => next((m) => m["id"] === id && !("method" in m), timeoutMs),
    stderr: () => err,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin?.end();
      await exited;
    },
  };
}
