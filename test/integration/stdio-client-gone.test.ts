import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  alive,
  CLI,
  memoryEntry,
  tempDir,
  waitFor,
  writeConfig,
  type TempDir,
} from "../helpers/aggregator.js";
import { descendants } from "../helpers/resilience.js";

/** Processes whose environment mentions `text` (our own processes' /proc/PID/environ is readable). */
function processesWithEnv(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "utf8").includes(text)) found.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

const line = (message: unknown): string => `${JSON.stringify(message)}\n`;

describe("stdio front: the client closes our stdout without closing stdin", () => {
  let tmp: TempDir | undefined;
  afterEach(async () => {
    await tmp?.cleanup();
  });

  it("shuts down cleanly (no unhandled EPIPE), stops its servers, while stdin stays open", async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } });
    const child = spawn(process.execPath, [CLI, "serve", "--config", config], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HOME: tmp.dir },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // Initialize, and wait for the answer: the memory server is running by then.
      const initialized = new Promise<void>((resolve) =>
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes('"id":1')) resolve();
        }),
      );
      child.stdin.write(
        line({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "t", version: "1" },
          },
        }),
      );
      await initialized;
      const servers = descendants(child.pid as number);
      expect(servers.length).toBeGreaterThan(0);

      // The client stops reading (its end of our stdout is closed), then asks for more: the answers fail
      // with EPIPE. stdin stays open, so only the failed write can end the session.
      child.stdout.destroy();
      child.stdin.write(line({ jsonrpc: "2.0", method: "notifications/initialized" }));
      child.stdin.write(line({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
      child.stdin.write(
        line({
          jsonrpc: "2.0",
          id: 3,
          method: "tools/call",
          params: { name: "memory_read_graph", arguments: {} },
        }),
      );

      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r("still running"), 10_000)),
      ]);
      expect(code).toBe(0);
      expect(stderr).toContain("the client closed stdout; shutting down");
      expect(stderr).not.toContain("Unhandled 'error' event");
      await waitFor(() => servers.every((pid) => !alive(pid)), 5_000);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("keeps serving when the client stops reading stderr (EPIPE on logs), and exits 0 on stdin EOF", async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } });
    const child = spawn(process.execPath, [CLI, "serve", "--config", config], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, HOME: tmp.dir, AUTONOMOUS_MCP_LOG_LEVEL: "debug" },
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // The first stderr line arrives before initialize: close our read end; every later log write fails.
    child.stderr.once("data", () => child.stderr.destroy());
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const answered = (id: number) => waitFor(() => out.includes(`"id":${id}`), 15_000);
    try {
      child.stdin.write(
        line({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "t", version: "1" },
          },
        }),
      );
      await answered(1);
      child.stdin.write(line({ jsonrpc: "2.0", method: "notifications/initialized" }));
      child.stdin.write(
        line({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "memory_read_graph", arguments: {} },
        }),
      );
      await answered(2);
      expect(out).toContain('"entities"');
      child.stdin.end();
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("a report command whose reader has gone (`tools | head`) still stops its servers and exits 0", async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } });
    const child = spawn(process.execPath, [CLI, "tools", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOME: tmp.dir },
    });
    child.stdout.destroy(); // every write of the listing fails with EPIPE
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
    expect(stderr).not.toContain("Unhandled 'error' event");
    // The memory server it started (MEMORY_FILE_PATH points into our temp dir) is gone too.
    await waitFor(() => processesWithEnv(tmp?.dir ?? "/nonexistent").length === 0, 5_000);
  });
});
