import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import {
  ROOT,
  alive,
  startHttp,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * Two and three real SDK clients on one HTTP front of the built aggregator, with a downstream whose
 * behaviour depends on its client (test/fixtures/client-aware-server.mjs). Nothing one client does may
 * reach, change or answer for another (docs/security.md, "Isolation between clients").
 */

const FIXTURE = path.join(ROOT, "test", "fixtures", "client-aware-server.mjs");
const FORGETFUL = path.join(ROOT, "test", "fixtures", "forgetful-http-server.mjs");

function fixtureEntry(gateDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [FIXTURE], env: { GATE_DIR: gateDir }, ...extra };
}

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content ?? [];
  return content.map((c) => (c.type === "text" ? c.text : "")).join("");
}

/** The text of a call's result, or the message of its JSON-RPC error. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    return textOf(await call);
  } catch (error) {
    return `error: ${error instanceof Error ? error.message : String(error)}`;
  }
}

interface Model {
  readonly prompts: string[];
}

/** A client whose "model" answers every sampling request with `answer-from-<name>` and records the prompt. */
function withModel(client: Client, name: string): Model {
  const prompts: string[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const content = request.params.messages[0]?.content;
    prompts.push(content && "text" in content ? String(content.text) : "");
    return {
      model: `model-${name}`,
      role: "assistant",
      content: { type: "text", text: `answer-from-${name}` },
    };
  });
  return { prompts };
}

/** Every log message a client receives (data as text). */
function logsOf(client: Client): string[] {
  const seen: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    seen.push(String(n.params.data));
  });
  return seen;
}

async function whoami(client: Client): Promise<{
  pid: number;
  clientCapabilities: ClientCapabilities;
  level: string | null;
  subscriptions: string[];
}> {
  return JSON.parse(textOf(await client.callTool({ name: "fx_whoami", arguments: {} }))) as never;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

/**
 * Sends `marker` as a log message of `client`'s own call and waits until it arrives: every message sent to
 * that client before (on the same stream) has arrived by then.
 */
async function logBarrier(client: Client, seen: string[], marker: string): Promise<void> {
  await client.callTool({ name: "fx_log", arguments: { level: "emergency", message: marker } });
  await waitFor(() => seen.includes(marker));
}

describe("multi-client isolation on the HTTP front: per-client server (the default)", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let gates: string;

  beforeAll(async () => {
    tmp = await tempDir();
    gates = tmp.dir;
    const config = await writeConfig(tmp.dir, { mcpServers: { fx: fixtureEntry(gates) } });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("ties sampling to the call that caused it (three clients: A's prompt never reaches B; C without sampling gets an error, never a model's answer)", async () => {
    const a = await h.connect({ sampling: {} });
    const b = await h.connect({ sampling: {} });
    const c = await h.connect({});
    const modelA = withModel(a, "A");
    const modelB = withModel(b, "B");
    expect(await toolNames(a)).toContain("fx_sample");
    // A's sampling request is sent only once B has a newer call in flight to the same server.
    const aCall = outcome(a.callTool({ name: "fx_sample", arguments: { prompt: "A-secret", gate: "g1" } }));
    const bCall = outcome(b.callTool({ name: "fx_hold", arguments: { open: "g1", until: "g2" } }));
    expect(await aCall).toBe("answer-from-A");
    expect(modelA.prompts).toEqual(["A-secret"]);
    expect(modelB.prompts).toEqual([]);

    const cResult = await outcome(c.callTool({ name: "fx_sample_any", arguments: { prompt: "C-question" } }));
    expect(cResult).toMatch(/^error: .*Method not found/);
    expect(cResult).not.toContain("answer-from");
    expect([...modelA.prompts, ...modelB.prompts]).not.toContain("C-question");

    await writeFile(path.join(gates, "g2"), "");
    expect(await bCall).toBe("released");
  });

  it("declares to each client's connection exactly what that client declared, and lists gated tools only to it", async () => {
    const a = await h.connect({ sampling: {}, roots: { listChanged: true } });
    const c = await h.connect({});
    const aNames = await toolNames(a);
    const cNames = await toolNames(c);
    expect(aNames).toEqual(expect.arrayContaining(["fx_sample", "fx_roots", "fx_whoami"]));
    expect(cNames).toContain("fx_whoami");
    expect(cNames).not.toContain("fx_sample");
    expect(cNames).not.toContain("fx_roots");
    const aSeen = await whoami(a);
    const cSeen = await whoami(c);
    expect(Object.keys(aSeen.clientCapabilities).sort()).toEqual(["roots", "sampling"]);
    expect(cSeen.clientCapabilities).toEqual({});
    expect(aSeen.pid).not.toBe(cSeen.pid);
    // A tool this client was not offered is unknown to it.
    await expect(c.callTool({ name: "fx_sample", arguments: { prompt: "x" } })).rejects.toThrow(
      /Unknown tool/,
    );
  });

  it("keeps log levels and log messages per client", async () => {
    const a = await h.connect({});
    const b = await h.connect({});
    const aLogs = logsOf(a);
    const bLogs = logsOf(b);
    await logBarrier(a, aLogs, "a-ready");
    await logBarrier(b, bLogs, "b-ready");

    await a.setLoggingLevel("error");
    // A's level does not silence B's debug messages.
    await b.callTool({ name: "fx_log", arguments: { level: "debug", message: "B-debug" } });
    await waitFor(() => bLogs.includes("B-debug"));
    expect((await whoami(b)).level).toBeNull();
    expect((await whoami(a)).level).toBe("error");

    await a.callTool({ name: "fx_log", arguments: { level: "error", message: "A-error" } });
    await a.callTool({ name: "fx_log", arguments: { level: "info", message: "A-info" } });
    await logBarrier(a, aLogs, "a-done");
    await logBarrier(b, bLogs, "b-done");
    expect(aLogs).toContain("A-error");
    expect(aLogs).not.toContain("A-info");
    expect(aLogs).not.toContain("B-debug");
    expect(bLogs).not.toContain("A-error");
  });

  it("keeps resource subscriptions per client", async () => {
    const a = await h.connect({});
    const b = await h.connect({});
    const updates: { a: string[]; b: string[] } = { a: [], b: [] };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.a.push(n.params.uri));
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.b.push(n.params.uri));
    const { resources } = await a.listResources();
    const uri = resources.find((r) => r.name === "counter")?.uri;
    expect(uri).toBeDefined();
    await a.subscribeResource({ uri: uri as string });
    expect((await whoami(a)).subscriptions).toEqual(["test://counter"]);
    expect((await whoami(b)).subscriptions).toEqual([]);
    // B's activity on the resource is not A's business, and A's subscription is not B's.
    expect(textOf(await b.callTool({ name: "fx_touch", arguments: { uri: "test://counter" } }))).toBe(
      "not subscribed",
    );
    expect(textOf(await a.callTool({ name: "fx_touch", arguments: { uri: "test://counter" } }))).toBe(
      "notified",
    );
    await waitFor(() => updates.a.length === 1);
    expect(updates.b).toEqual([]);
  });

  it("gives a connection made after setLevel that session's level", async () => {
    const a = await h.connect({});
    await a.setLoggingLevel("critical");
    expect((await whoami(a)).level).toBe("critical");
    const b = await h.connect({});
    expect((await whoami(b)).level).toBeNull();
  });

  it("closes a client's own connection when its session ends", async () => {
    const a = await h.connect({});
    const { pid } = await whoami(a);
    expect(alive(pid)).toBe(true);
    await (a.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(() => !alive(pid));
  });
});

describe("multi-client isolation on the HTTP front: shared server", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let gates: string;

  beforeAll(async () => {
    tmp = await tempDir();
    gates = tmp.dir;
    const config = await writeConfig(tmp.dir, {
      mcpServers: { fx: fixtureEntry(gates, { sessionMode: "shared" }) },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("declares no sampling/elicitation/roots to a shared connection: another client's model never answers", async () => {
    const a = await h.connect({ sampling: {} });
    const b = await h.connect({ sampling: {}, roots: { listChanged: true } });
    const modelA = withModel(a, "A");
    const modelB = withModel(b, "B");
    expect((await whoami(a)).clientCapabilities).toEqual({});
    expect(await toolNames(a)).not.toContain("fx_sample");
    // A's sampling request is sent only once B has a newer call in flight on the same connection.
    const aCall = outcome(
      a.callTool({ name: "fx_sample_any", arguments: { prompt: "A-private", gate: "s1" } }),
    );
    const bCall = outcome(b.callTool({ name: "fx_hold", arguments: { open: "s1", until: "s2" } }));
    const aResult = await aCall;
    expect(aResult).toMatch(/^error: .*Method not found/);
    expect(modelA.prompts).toEqual([]);
    expect(modelB.prompts).toEqual([]);
    await writeFile(path.join(gates, "s2"), "");
    expect(await bCall).toBe("released");
  });

  it("delivers a shared connection's log message only to the one session with calls in flight", async () => {
    const a = await h.connect({});
    const b = await h.connect({});
    const aLogs = logsOf(a);
    const bLogs = logsOf(b);
    await logBarrier(a, aLogs, "shared-a-ready");
    await logBarrier(b, bLogs, "shared-b-ready");
    await a.callTool({ name: "fx_log", arguments: { level: "warning", message: "A-only" } });
    await logBarrier(b, bLogs, "shared-b-done");
    await waitFor(() => aLogs.includes("A-only"));
    expect(bLogs).not.toContain("A-only");
    expect(aLogs).not.toContain("shared-b-done");
  });

  it("sets a shared connection to the most verbose level any client asked for, filtering per client", async () => {
    const a = await h.connect({});
    const b = await h.connect({});
    const aLogs = logsOf(a);
    const bLogs = logsOf(b);
    await b.setLoggingLevel("debug");
    await a.setLoggingLevel("error");
    expect((await whoami(a)).level).toBe("debug");
    await b.callTool({ name: "fx_log", arguments: { level: "debug", message: "B-verbose" } });
    await waitFor(() => bLogs.includes("B-verbose"));
    await a.callTool({ name: "fx_log", arguments: { level: "info", message: "A-quiet" } });
    await logBarrier(a, aLogs, "A-loud");
    expect(aLogs).not.toContain("A-quiet");
  });
});

describe("per-client HTTP downstream", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let downstream: ChildProcess;

  beforeAll(async () => {
    tmp = await tempDir();
    downstream = spawn(process.execPath, [FORGETFUL], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      downstream.stdout?.on("data", (c: Buffer) => {
        out += c.toString("utf8");
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      downstream.once("exit", (code) => reject(new Error(`downstream exited with ${code}`)));
    });
    const config = await writeConfig(tmp.dir, { mcpServers: { remote: { url } } });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    downstream?.kill("SIGTERM");
    await tmp?.cleanup();
  });

  it("gives each client session its own MCP session on the remote server", async () => {
    const stats = async (client: Client): Promise<{ initializations: number; sessions: number }> =>
      JSON.parse(textOf(await client.callTool({ name: "remote_stats", arguments: {} }))) as never;
    const a = await h.connect({});
    const b = await h.connect({});
    const c = await h.connect({});
    await stats(a);
    await stats(b);
    // The template connection (the catalog) plus one MCP session per client session.
    expect(await stats(c)).toMatchObject({ initializations: 4, sessions: 4 });
    await (b.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(async () => (await stats(a)).sessions === 3);
  });
});

describe("per-client connection bound", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { fx: fixtureEntry(tmp.dir, { maxClientConnections: 2 }) },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("refuses one client session more than maxClientConnections with a clear error, and admits it once a session ends", async () => {
    const a = await h.connect({});
    const b = await h.connect({});
    const c = await h.connect({});
    await whoami(a);
    await whoami(b);
    const refused = await c.callTool({ name: "fx_whoami", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("already has 2 per-client connections (maxClientConnections)");
    // A and B are not affected.
    expect((await whoami(a)).pid).toBeGreaterThan(0);
    const status = (await a.callTool({ name: "status", arguments: {} })).structuredContent as {
      servers: { name: string; sessionMode?: string; clientConnections?: number }[];
    };
    expect(status.servers.find((s) => s.name === "fx")).toMatchObject({
      sessionMode: "per-client",
      clientConnections: 2,
    });
    await (a.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(async () => !(await c.callTool({ name: "fx_whoami", arguments: {} })).isError);
  });
});

describe("logging/setLevel does not leak listeners", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        fx: fixtureEntry(tmp.dir, { sessionMode: "shared" }),
        own: fixtureEntry(tmp.dir, { sessionMode: "per-client" }),
      },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers 20 setLevel calls without a MaxListenersExceededWarning", async () => {
    const a = await h.connect({});
    await a.callTool({ name: "own_whoami", arguments: {} });
    for (let i = 0; i < 20; i++) await a.setLoggingLevel(i % 2 === 0 ? "debug" : "info");
    expect((await whoami(a)).level).toBe("info");
    expect(JSON.parse(textOf(await a.callTool({ name: "own_whoami", arguments: {} }))).level).toBe("info");
    expect(h.stderr()).not.toContain("MaxListenersExceededWarning");
    expect(h.stderr()).not.toContain("memory leak");
  });
});

describe("logging/setLevel over stdio does not leak listeners", () => {
  let tmp: TempDir;
  let h: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        fx: fixtureEntry(tmp.dir, { sessionMode: "shared" }),
        fy: fixtureEntry(tmp.dir, { sessionMode: "shared" }),
      },
    });
    h = await startStdio(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers 30 concurrent setLevel calls without a MaxListenersExceededWarning", async () => {
    await h.client.callTool({ name: "fx_whoami", arguments: {} });
    const levels = ["debug", "info", "warning"] as const;
    await Promise.all(Array.from({ length: 30 }, (_, i) => h.client.setLoggingLevel(levels[i % 3]!)));
    await h.client.setLoggingLevel("error");
    // Both servers got the last level: every request above has finished downstream.
    for (const name of ["fx_whoami", "fy_whoami"]) {
      const result = await h.client.callTool({ name, arguments: {} });
      expect(JSON.parse(textOf(result)).level).toBe("error");
    }
    expect(h.stderr()).not.toContain("MaxListenersExceededWarning");
    expect(h.stderr()).not.toContain("memory leak");
  });
});
