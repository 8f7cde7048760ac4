/**
 * Consuming both protocol generations: the built CLI (stdio front, a v1 SDK client as today's clients
 * are) in front of a modern-only (2026-07-28), a dual-era and a legacy (2025) server at once, over stdio
 * and over HTTP; the era verdict reused on restarts (one process per start, no second probe); a server
 * with no version in common failed at once with both sides' versions named (status and doctor).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceUpdatedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  CLI,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/v2-server.mjs", import.meta.url));
const ERAS = ["modern", "dual", "legacy"] as const;
type Era = (typeof ERAS)[number];
const EXPECTED: Record<Era, { protocolVersion: string; era: string }> = {
  modern: { protocolVersion: "2026-07-28", era: "modern" },
  dual: { protocolVersion: "2026-07-28", era: "modern" },
  legacy: { protocolVersion: "2025-11-25", era: "legacy" },
};

interface StatusServer {
  name: string;
  state: string;
  restarts: number;
  protocolVersion?: string;
  era?: string;
  lastError?: { message: string };
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

async function status(h: StdioHarness): Promise<StatusServer[]> {
  const result = (await h.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
  return (result.structuredContent as { servers: StatusServer[] }).servers;
}

function stdioEntry(era: string, env: Record<string, string> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [FIXTURE, "--era", era], env };
}

/** Starts the fixture as an HTTP server and returns its URL. */
async function httpServer(era: Era, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [FIXTURE, "--era", era, "--transport", "http"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let out = "";
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    out += chunk.toString("utf8");
    const url = /listening (http:\/\/\S+)/.exec(out)?.[1];
    if (url) return url;
  }
  throw new Error(`fixture ${era} exited before listening`);
}

/** Runs the built CLI to completion. */
async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe.each(["stdio", "http"] as const)("three generations of servers at once over %s", (transport) => {
  let tmp: TempDir;
  let h: StdioHarness;
  let config: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tmp = await tempDir();
    const servers: Record<string, unknown> = {};
    for (const era of ERAS) {
      servers[era] =
        transport === "stdio" ? stdioEntry(era) : { type: "http", url: await httpServer(era, children) };
    }
    config = await writeConfig(tmp.dir, { mcpServers: servers });
    h = await startStdio(config);
  });

  afterAll(async () => {
    await h?.close();
    for (const child of children) child.kill("SIGTERM");
    await tmp?.cleanup();
  });

  it("lists every server's tools and calls each", async () => {
    const tools = (await h.client.listTools()).tools.map((t) => t.name);
    for (const era of ERAS) {
      const name = tools.find((t) => t.endsWith(`echo_${era}`));
      expect(name, `${era}'s echo tool in ${tools.join(", ")}`).toBeDefined();
      const result = await h.client.callTool({ name: name ?? "", arguments: { message: "hi" } });
      expect(result.isError).toBeFalsy();
      expect(text(result)).toBe(`${era}: hi`);
    }
  });

  it("reads each server's resource and gets each server's prompt", async () => {
    const resources = (await h.client.listResources()).resources;
    const prompts = (await h.client.listPrompts()).prompts.map((p) => p.name);
    for (const era of ERAS) {
      const resource = resources.find((r) => r.name.endsWith(`hello_${era}`));
      expect(resource, `${era}'s resource`).toBeDefined();
      const read = await h.client.readResource({ uri: resource?.uri ?? "" });
      expect(read.contents[0]).toMatchObject({ text: `hello from ${era}` });
      const prompt = prompts.find((p) => p.endsWith(`greet_${era}`));
      expect(prompt, `${era}'s prompt in ${prompts.join(", ")}`).toBeDefined();
      const got = await h.client.getPrompt({ name: prompt ?? "", arguments: { who: "Ada" } });
      expect(got.messages[0]?.content).toMatchObject({ type: "text", text: `Hello Ada from ${era}` });
    }
  });

  // Over HTTP the v2 fixture builds a server per request (createMcpHandler), so a tool added by one
  // request is gone by the next: list changes are tested on stdio, where one instance serves the link.
  it.runIf(transport === "stdio")(
    "sees every server's list changes (modern: on its subscriptions/listen stream)",
    async () => {
      const tools = (await h.client.listTools()).tools.map((t) => t.name);
      for (const era of ERAS) {
        const add = tools.find((t) => t.endsWith(`add_tool_${era}`)) ?? "";
        expect(text(await h.client.callTool({ name: add, arguments: { tool: `late_${era}` } }))).toBe(
          `added late_${era}`,
        );
      }
      await waitFor(async () => {
        const now = (await h.client.listTools()).tools.map((t) => t.name);
        return ERAS.every((era) => now.some((t) => t.endsWith(`late_${era}`)));
      }, 10_000);
    },
  );

  it.runIf(transport === "stdio")(
    "delivers a modern server's resource updates to a subscribed client (listen stream, no resources/subscribe)",
    async () => {
      const updated: string[] = [];
      h.client.setNotificationHandler(
        ResourceUpdatedNotificationSchema,
        (n) => void updated.push(n.params.uri),
      );
      const resources = (await h.client.listResources()).resources;
      const tools = (await h.client.listTools()).tools.map((t) => t.name);
      const subscribed: string[] = [];
      for (const era of ["modern", "dual"] as const) {
        const uri = resources.find((r) => r.name.endsWith(`hello_${era}`))?.uri ?? "";
        await h.client.subscribeResource({ uri });
        subscribed.push(uri);
        const touch = tools.find((t) => t.endsWith(`touch_${era}`)) ?? "";
        expect(text(await h.client.callTool({ name: touch, arguments: {} }))).toBe("touched");
      }
      await waitFor(() => subscribed.every((uri) => updated.includes(uri)), 10_000);
      for (const uri of subscribed) await h.client.unsubscribeResource({ uri });
    },
  );

  it("status and doctor show each server's negotiated protocol version", async () => {
    const servers = await status(h);
    for (const era of ERAS) {
      expect(servers.find((s) => s.name === era)).toMatchObject({ state: "ready", ...EXPECTED[era] });
    }
    const report = await runCli(["doctor", "--config", config, "--json"]);
    expect(report.code, report.stderr).toBe(0);
    const rows = (JSON.parse(report.stdout) as { servers: (StatusServer & { server: string })[] }).servers;
    for (const era of ERAS) {
      expect(rows.find((r) => r.server === era)).toMatchObject({ state: "ready", ...EXPECTED[era] });
    }
    const table = await runCli(["doctor", "--config", config]);
    expect(table.stdout).toMatch(/PROTOCOL/);
    expect(table.stdout).toMatch(/2026-07-28 \(modern\)/);
    expect(table.stdout).toMatch(/2025-11-25 \(legacy\)/);
  });
});

describe("the era verdict is kept across restarts", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let modernLog: string;
  let faultLog: string;

  beforeAll(async () => {
    tmp = await tempDir();
    modernLog = path.join(tmp.dir, "modern.log");
    faultLog = path.join(tmp.dir, "fault.log");
    const restart = { initialDelayMs: 10, maxDelayMs: 10 };
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        modern: { ...stdioEntry("modern", { V2_START_LOG: modernLog }), restart },
        fault: { ...faultServerEntry("normal", { FAULT_LOG_FILE: faultLog }), restart },
      },
    });
    h = await startStdio(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  async function lines(file: string): Promise<{ pid: number; method?: string; era?: string }[]> {
    const raw = await readFile(file, "utf8").catch(() => "");
    return raw
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { pid: number; method?: string; era?: string });
  }

  it("a restarted server is started once and not probed again", async () => {
    // First start: one process each; the modern one probed (server/discover) and never initialized,
    // the legacy one probed in place (answered -32601) and then initialized on the same pipe.
    const modernStarts = (await lines(modernLog)).filter((l) => l.era !== undefined);
    expect(modernStarts).toHaveLength(1);
    const first = modernStarts[0]?.pid ?? 0;
    expect((await lines(modernLog)).filter((l) => l.method === "server/discover")).toHaveLength(1);
    expect((await lines(modernLog)).filter((l) => l.method === "initialize")).toHaveLength(0);
    const faultFirst = await lines(faultLog);
    expect(faultFirst.filter((l) => l.method === "server/discover")).toHaveLength(1);
    expect(faultFirst.filter((l) => l.method === "initialize")).toHaveLength(1);

    // Both go down: the modern one killed from outside, the legacy one crashing mid-call.
    process.kill(first, "SIGKILL");
    const tools = (await h.client.listTools()).tools.map((t) => t.name);
    const crash = tools.find((t) => t.endsWith("crash")) ?? "";
    await h.client.callTool({ name: crash, arguments: {} }).catch(() => undefined);
    await waitFor(async () => {
      const servers = await status(h);
      return servers.every((s) => s.state === "ready" && s.restarts === 1);
    }, 20_000);

    // Second start: one more process each, started with the kept verdict — no server/discover.
    const modern = await lines(modernLog);
    expect(modern.filter((l) => l.era !== undefined)).toHaveLength(2);
    expect(modern.filter((l) => l.method === "server/discover")).toHaveLength(1);
    expect(modern.filter((l) => l.method === "initialize")).toHaveLength(0);
    const fault = await lines(faultLog);
    expect(new Set(fault.map((l) => l.pid)).size).toBe(2);
    expect(fault.filter((l) => l.method === "server/discover")).toHaveLength(1);
    expect(fault.filter((l) => l.method === "initialize")).toHaveLength(2);

    const echo = tools.find((t) => t.endsWith("echo_modern")) ?? "";
    expect(text(await h.client.callTool({ name: echo, arguments: { message: "again" } }))).toBe(
      "modern: again",
    );
    expect((await status(h)).find((s) => s.name === "modern")).toMatchObject(EXPECTED.modern);
  });
});

describe("a server with no protocol version in common", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let config: string;
  let startLog: string;

  beforeAll(async () => {
    tmp = await tempDir();
    startLog = path.join(tmp.dir, "future.log");
    const restart = { initialDelayMs: 10, maxDelayMs: 10, maxRestarts: 6 };
    config = await writeConfig(tmp.dir, {
      mcpServers: {
        future: { ...stdioEntry("future", { V2_START_LOG: startLog }), restart },
        dual: stdioEntry("dual"),
      },
    });
    h = await startStdio(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  const NAMES_BOTH =
    /future speaks 2027-01-01 only; autonomous-mcp offered 2026-07-28 and speaks 2026-07-28, 2025-11-25/;

  it("is failed at once, not retried, with both sides' versions in status", async () => {
    const future = (await status(h)).find((s) => s.name === "future");
    expect(future).toMatchObject({ state: "failed", restarts: 0 });
    expect(future?.lastError?.message).toMatch(NAMES_BOTH);
    expect(future?.lastError?.message).toMatch(/no protocol version in common/);
    // One start, never another; the probe was its one request (no initialize after a -32022).
    const log = (await readFile(startLog, "utf8")).split("\n").filter(Boolean);
    expect(log.filter((l) => l.includes('"era"'))).toHaveLength(1);
    expect(log.filter((l) => l.includes('"method"'))).toEqual([expect.stringContaining("server/discover")]);
    // Nothing else is lost: the dual-era server beside it works.
    const tools = (await h.client.listTools()).tools.map((t) => t.name);
    const echo = tools.find((t) => t.endsWith("echo_dual")) ?? "";
    expect(text(await h.client.callTool({ name: echo, arguments: { message: "ok" } }))).toBe("dual: ok");
    expect(tools.some((t) => t.includes("future"))).toBe(false);
  });

  it("doctor names the versions each side offers and exits 1", async () => {
    const report = await runCli(["doctor", "--config", config]);
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(NAMES_BOTH);
    expect(report.stdout).toMatch(/share no MCP protocol version/);
    expect(report.stdout).not.toMatch(/see the error above/);
  });
});
