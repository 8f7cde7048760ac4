import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { faultServerEntry, type FaultMode } from "../helpers/fault-server.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { CLI, startHttp, tempDir, waitFor, writeConfig, type TempDir } from "../helpers/aggregator.js";
import { descendants, running } from "../helpers/resilience.js";

/**
 * Stopping the built CLI the hard ways: a second Ctrl-C, a signal in the middle of start-up, SIGKILL,
 * stdin closed while a call runs. The servers are fault-server processes that ignore stdin EOF (like
 * Trello and server-everything), so only an explicit stop ends them; processes are counted in /proc.
 */

interface Message {
  id?: unknown;
  result?: { isError?: boolean; content?: { type: string; text?: string }[] };
  error?: { code: number; message: string };
}

interface Launched {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: Message[];
  stderr(): string;
  send(message: unknown): void;
  answer(id: number, timeoutMs?: number): Promise<Message>;
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};
const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

const textOf = (m: Message): string => (m.result?.content ?? []).map((c) => c.text ?? "").join("");

let tmp: TempDir | undefined;
const launched: Launched[] = [];
/** Every process a test saw, killed after it whatever happened (a failing run leaves nothing behind). */
const seen = new Set<number>();

afterEach(async () => {
  for (const l of launched.splice(0)) if (l.child.exitCode === null) l.child.kill("SIGKILL");
  for (const pid of seen) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  seen.clear();
  await tmp?.cleanup();
  tmp = undefined;
});

function launch(config: string, args: string[] = [], env: Record<string, string> = {}): Launched {
  const child = spawn(process.execPath, [CLI, "serve", "--config", config, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env["PATH"] ?? "", HOME: tmp?.dir ?? "", ...env },
  });
  let err = "";
  let partial = "";
  const messages: Message[] = [];
  child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  child.stdout.on("data", (c: Buffer) => {
    const lines = (partial + c.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) messages.push(JSON.parse(line) as Message);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const l: Launched = {
    child,
    messages,
    stderr: () => err,
    send: (m) => void child.stdin.write(`${JSON.stringify(m)}\n`),
    answer: async (id, timeoutMs = 15_000) => {
      await waitFor(() => messages.some((m) => m.id === id), timeoutMs).catch(() => {
        throw new Error(`no answer to request ${id}; stderr:\n${err.slice(-3000)}`);
      });
      return messages.find((m) => m.id === id) as Message;
    },
    exited,
  };
  launched.push(l);
  return l;
}

/** A fault-server entry whose every request is logged to <dir>/<name>.log.jsonl. */
function fault(dir: string, name: string, mode: FaultMode, env: Record<string, string> = {}) {
  return {
    ...faultServerEntry(mode, { FAULT_LOG_FILE: path.join(dir, `${name}.log.jsonl`), ...env }),
    healthCheckIntervalMs: 0,
  };
}

/** Whether the fault server `name` has received a tools/call for `tool`. */
function received(dir: string, name: string, tool: string): boolean {
  const file = path.join(dir, `${name}.log.jsonl`);
  if (!existsSync(file)) return false;
  return readFileSync(file, "utf8")
    .split("\n")
    .some((l) => l.includes('"tools/call"') && l.includes(`"name":"${tool}"`));
}

/** Command line of a process ("" once gone). */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The aggregator's live descendants, remembered for the cleanup. */
function tree(pid: number): number[] {
  const pids = descendants(pid);
  for (const p of pids) seen.add(p);
  return pids;
}

async function allGone(pids: readonly number[], what: string): Promise<void> {
  await waitFor(() => pids.every((p) => !running(p)), 15_000).catch(() => {
    const left = pids.filter((p) => running(p)).map((p) => `${p} (${cmdline(p)})`);
    throw new Error(`${what}: processes left: ${left.join(", ")}`);
  });
}

describe.skipIf(process.platform === "win32")("stopping the aggregator the hard ways", () => {
  it("a second SIGINT during the grace period: the call in flight gets an error answer, every server stops, exit 0", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, {
      mcpServers: {
        // Ignores stdin EOF: only a signal to its group stops it.
        a: fault(dir, "a", "ignore_eof"),
        // Ignores SIGTERM too: only SIGKILL stops it (the second signal must not wait 2 s for it).
        b: fault(dir, "b", "ignore_sigterm"),
      },
    });
    const agg = launch(config);
    agg.send(INIT);
    await agg.answer(1);
    agg.send(INITIALIZED);
    agg.send(call(2, "a_hang"));
    await waitFor(() => received(dir, "a", "hang"), 15_000);
    const pids = tree(agg.child.pid as number);
    expect(pids.filter((p) => cmdline(p).includes("fault-server")).length).toBe(2);

    agg.child.kill("SIGINT");
    await waitFor(() => agg.stderr().includes('"msg":"shutting down"'), 10_000);
    // The first signal gave the call 5 s; the second ends that wait now.
    expect(agg.messages.some((m) => m.id === 2)).toBe(false);
    agg.child.kill("SIGINT");

    const answer = await agg.answer(2);
    expect(answer.result?.isError).toBe(true);
    expect(textOf(answer)).toBe("a_hang: autonomous-mcp is shutting down; the call was cancelled");
    expect(await agg.exited).toEqual({ code: 0, signal: null });
    expect(agg.stderr()).toContain(
      "second signal: cancelling the calls in flight and stopping the servers now",
    );
    await allGone(pids, "after a double SIGINT");
  });

  it("a second SIGTERM over HTTP: the call in flight gets the error answer on its own response", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, { mcpServers: { a: fault(dir, "a", "ignore_eof") } });
    const h = await startHttp(config, { env: { HOME: dir } });
    try {
      const client = await h.connect();
      const pending = client.callTool({ name: "a_hang", arguments: {} }, undefined, { timeout: 60_000 });
      await waitFor(() => received(dir, "a", "hang"), 15_000);
      const pids = tree(h.child.pid as number);
      const exited = new Promise<number | null>((resolve) => h.child.once("exit", (code) => resolve(code)));
      h.child.kill("SIGTERM");
      await waitFor(() => h.stderr().includes('"msg":"shutting down"'), 10_000);
      h.child.kill("SIGTERM");
      const result = (await pending) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(result.content).toEqual([
        { type: "text", text: "a_hang: autonomous-mcp is shutting down; the call was cancelled" },
      ]);
      expect(await exited).toBe(0);
      await allGone(pids, "after a double SIGTERM over HTTP");
    } finally {
      if (h.child.exitCode === null) h.child.kill("SIGKILL");
    }
  });

  it("SIGTERM while HTTP start-up waits for a slow server: the servers started so far stop, exit 0, never listens", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, {
      logLevel: "info",
      mcpServers: {
        quick: fault(dir, "quick", "ignore_eof"),
        // Answers initialize only after a minute, and ignores stdin EOF meanwhile.
        slow: {
          ...fault(dir, "slow", "slow_start", { START_DELAY_MS: "60000", IGNORE_EOF: "1" }),
          connectTimeoutMs: 120_000,
        },
      },
    });
    const agg = launch(config, ["--transport", "http", "--port", "0"]);
    // Start-up is under way: one server is ready, the other still starting.
    await waitFor(() => /"server":"quick".*"msg":"server ready"/.test(agg.stderr()), 15_000);
    const pids = tree(agg.child.pid as number);
    expect(pids.filter((p) => cmdline(p).includes("fault-server")).length).toBe(2);

    agg.child.kill("SIGTERM");
    expect(await agg.exited).toEqual({ code: 0, signal: null });
    expect(agg.stderr()).not.toContain("listening on");
    await allGone(pids, "after SIGTERM during start-up");
  });

  it("SIGKILL of the aggregator: its servers and their process groups are gone shortly after", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const grandchildFile = path.join(dir, "grandchild.pid");
    const config = await writeConfig(dir, {
      mcpServers: {
        a: fault(dir, "a", "ignore_eof"),
        b: fault(dir, "b", "ignore_sigterm"),
        // Exits on stdin EOF itself, but leaves a grandchild in its process group.
        c: fault(dir, "c", "spawn_grandchild", { FAULT_GRANDCHILD_PID_FILE: grandchildFile }),
      },
    });
    const agg = launch(config);
    agg.send(INIT);
    await agg.answer(1);
    await waitFor(() => existsSync(grandchildFile) && readFileSync(grandchildFile, "utf8") !== "");
    const grandchild = Number(readFileSync(grandchildFile, "utf8"));
    const pids = tree(agg.child.pid as number);
    expect(pids).toContain(grandchild);
    expect(pids.filter((p) => cmdline(p).includes("fault-server")).length).toBe(3);

    agg.child.kill("SIGKILL");
    expect(await agg.exited).toEqual({ code: null, signal: "SIGKILL" });
    await allGone(pids, "after SIGKILL of the aggregator");
  });

  it("Ctrl-C during `doctor` (a server slow to start): the servers it started do not outlive it", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, {
      mcpServers: {
        slow: {
          ...fault(dir, "slow", "slow_start", { START_DELAY_MS: "60000", IGNORE_EOF: "1" }),
          connectTimeoutMs: 120_000,
        },
      },
    });
    const child = spawn(process.execPath, [CLI, "doctor", "--config", config], {
      stdio: ["ignore", "ignore", "ignore"],
      env: { PATH: process.env["PATH"] ?? "", HOME: dir },
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_c, signal) => resolve(signal)),
    );
    try {
      await waitFor(() => tree(child.pid as number).some((p) => cmdline(p).includes("fault-server")), 15_000);
      // The watchdog is spawned right after the server: wait until the aggregator has both children.
      await waitFor(() => tree(child.pid as number).length >= 2, 15_000);
      const pids = tree(child.pid as number);
      child.kill("SIGINT");
      expect(await exited).toBe("SIGINT");
      await allGone(pids, "after Ctrl-C during doctor");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("stdin EOF while a call runs: its answer, finished within the grace period, is written before exit", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, { mcpServers: { a: fault(dir, "a", "ignore_eof") } });
    const agg = launch(config);
    agg.send(INIT);
    await agg.answer(1);
    agg.send(INITIALIZED);
    agg.send(call(2, "a_slow", { ms: 1500 }));
    await waitFor(() => received(dir, "a", "slow"), 15_000);
    const pids = tree(agg.child.pid as number);
    agg.child.stdin.end();

    expect(await agg.exited).toEqual({ code: 0, signal: null });
    const answer = agg.messages.find((m) => m.id === 2);
    expect(answer, `no answer on stdout; stderr:\n${agg.stderr().slice(-2000)}`).toBeDefined();
    expect(textOf(answer as Message)).toBe("done");
    await allGone(pids, "after stdin EOF");
  });

  it("a client that writes its requests and closes stdin at once gets every answer", async () => {
    tmp = await tempDir("amcp-stop-");
    const dir = tmp.dir;
    const config = await writeConfig(dir, { mcpServers: { a: fault(dir, "a", "ignore_eof") } });
    const agg = launch(config);
    agg.send(INIT);
    agg.send(INITIALIZED);
    agg.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    agg.send(call(3, "a_echo", { message: "piped" }));
    agg.child.stdin.end();

    expect(await agg.exited).toEqual({ code: 0, signal: null });
    expect(agg.messages.map((m) => m.id)).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(textOf(agg.messages.find((m) => m.id === 3) as Message)).toBe("piped");
  });
});
