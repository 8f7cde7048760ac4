/**
 * The Streamable HTTP front serves both protocol generations on one port and path (issue #16): two v2
 * clients pinned to 2026-07-28 and a v1 (2025-era, sessionful) client at once list and call tools, read
 * resources and get prompts; a modern listen stream gets a tools list_changed when a downstream's tools
 * change (as the 2025 session gets its notification), and resources/updated for a URI it follows. Raw
 * POSTs: server/discover without a session, -32020 on a header mismatch, -32022 with data.supported,
 * -32601 for a method 2026-07-28 removed, malformed envelopes and over-deep JSON answered with the id;
 * a sessionless 2025 request that is not initialize gets its 400 with its id (no more `"id": null`);
 * the bearer-token check guards the modern leg too.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client as ModernClient } from "@modelcontextprotocol/client";
import type { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import {
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { metricValue, post } from "../helpers/http-raw.js";
import { parseSse } from "../helpers/sse.js";
import { envelope, MODERN, modernHttpClient, v2Entry } from "../helpers/modern.js";

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

/** The JSON-RPC message of an answer, whether sent as JSON or as an event stream. */
function message(body: string): Record<string, unknown> {
  const trimmed = body.trim();
  if (trimmed.startsWith("{")) return JSON.parse(trimmed) as Record<string, unknown>;
  const events = parseSse(body).filter((e) => e.data.trim().startsWith("{"));
  const last = events.map((e) => JSON.parse(e.data) as Record<string, unknown>).find((m) => "id" in m);
  if (!last) throw new Error(`no JSON-RPC answer in ${body}`);
  return last;
}

function modernHeaders(method: string, name?: string): Record<string, string> {
  return {
    "mcp-protocol-version": MODERN,
    "mcp-method": method,
    ...(name === undefined ? {} : { "mcp-name": name }),
  };
}

describe("the HTTP front serves 2026-07-28 and 2025 clients on one port and path", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let modernA: ModernClient;
  let modernB: ModernClient;
  let legacy: LegacyClient;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      // dual shared: a tool it adds for one client is every client's (per-client servers' are their own).
      mcpServers: { dual: { ...v2Entry("dual"), sessionMode: "shared" }, old: v2Entry("legacy", "old") },
    });
    h = await startHttp(config);
    [modernA, modernB, legacy] = await Promise.all([
      modernHttpClient(h.url, { name: "modern-a" }),
      modernHttpClient(h.url, { name: "modern-b" }),
      h.connect(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([modernA, modernB].map((c) => c?.close().catch(() => undefined)));
    await h?.close();
    await tmp?.cleanup();
  });

  it("negotiates 2026-07-28 with the modern clients while the legacy client holds a session", () => {
    expect(modernA.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(modernB.getServerVersion()?.name).toBe("autonomous-mcp");
    expect(legacy.getServerVersion()?.name).toBe("autonomous-mcp");
  });

  it("lists and calls tools, reads resources and gets prompts, three clients at once", async () => {
    const clients = [modernA, modernB, legacy] as const;
    const lists = await Promise.all(clients.map(async (c) => (await c.listTools()).tools.map((t) => t.name)));
    // The same, deterministic order for every client, of either generation.
    for (const names of lists) expect(names).toEqual(lists[0]);
    expect(lists[0]).toEqual([...(lists[0] ?? [])].sort());
    await Promise.all(
      clients.map(async (client, i) => {
        for (const echo of ["echo_dual", "echo_old"]) {
          const name = lists[i]?.find((t) => t.endsWith(echo)) ?? "";
          const result = await client.callTool({ name, arguments: { message: `c${i}` } });
          expect(text(result)).toBe(`${echo.slice(5)}: c${i}`);
        }
        const read = await client.readResource({ uri: "v2://old/hello" });
        expect(read.contents[0]).toMatchObject({ text: "hello from old" });
        const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
        const greet = prompts.find((p) => p.endsWith("greet_dual")) ?? "";
        const prompt = await client.getPrompt({ name: greet, arguments: { who: `c${i}` } });
        expect(prompt.messages[0]?.content).toMatchObject({ text: `Hello c${i} from dual` });
      }),
    );
  });

  it("tells a modern listen stream and the legacy session that the tools changed", async () => {
    const modernSaw: string[] = [];
    const legacySaw: string[] = [];
    modernA.setNotificationHandler("notifications/tools/list_changed", () => void modernSaw.push("tools"));
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => void legacySaw.push("tools"));
    const sub = await modernA.listen({ toolsListChanged: true });
    expect(sub.honoredFilter).toEqual({ toolsListChanged: true });
    const add = (await modernB.listTools()).tools.find((t) => t.name.endsWith("add_tool_dual"))?.name ?? "";
    await modernB.callTool({ name: add, arguments: { tool: "late_http" } });
    await waitFor(() => modernSaw.length > 0 && legacySaw.length > 0);
    for (const client of [modernA, legacy]) {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names.some((n) => n.endsWith("late_http"))).toBe(true);
    }
    await sub.close();
  });

  it("delivers resources/updated of a followed URI on a modern listen stream", async () => {
    const updated: string[] = [];
    modernB.setNotificationHandler("notifications/resources/updated", (n) => void updated.push(n.params.uri));
    const sub = await modernB.listen({ resourceSubscriptions: ["v2://dual/hello"] });
    expect(sub.honoredFilter.resourceSubscriptions).toEqual(["v2://dual/hello"]);
    const touch = (await modernB.listTools()).tools.find((t) => t.name.endsWith("touch_dual"))?.name ?? "";
    // The downstream subscription is made as the stream opens: touch until an update comes through.
    await waitFor(async () => {
      await modernB.callTool({ name: touch, arguments: {} });
      return updated.length > 0;
    });
    expect(updated[0]).toBe("v2://dual/hello");
    await sub.close();
    // The legacy session's subscription works beside it.
    const legacyUpdates: string[] = [];
    legacy.setNotificationHandler(
      ResourceUpdatedNotificationSchema,
      (n) => void legacyUpdates.push(n.params.uri),
    );
    await legacy.subscribeResource({ uri: "v2://dual/hello" });
    await legacy.callTool({ name: touch, arguments: {} });
    await waitFor(() => legacyUpdates.length > 0);
  });

  it("list results carry resultType and cache hints for modern clients only", async () => {
    const modernList = await post(
      h.url,
      modernHeaders("tools/list"),
      JSON.stringify({ jsonrpc: "2.0", id: "l1", method: "tools/list", params: { _meta: envelope() } }),
    );
    expect(modernList.status).toBe(200);
    const result = message(modernList.body)["result"] as Record<string, unknown>;
    expect(result["resultType"]).toBe("complete");
    expect(result["ttlMs"]).toBe(60_000);
    expect(result["cacheScope"]).toBe("private");
    const legacyList = (await legacy.listTools()) as Record<string, unknown>;
    expect(legacyList["ttlMs"]).toBeUndefined();
    expect(legacyList["resultType"]).toBeUndefined();
  });
});

describe("raw 2026-07-28 requests on the HTTP front", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  const TOKEN = "modern-token-0123456789";
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { dual: v2Entry("dual") } });
    h = await startHttp(config, { args: ["--auth-token", TOKEN] });
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  const discover = JSON.stringify({
    jsonrpc: "2.0",
    id: "d1",
    method: "server/discover",
    params: { _meta: envelope() },
  });

  it("answers server/discover without a session, and asks for the token first", async () => {
    const refused = await post(h.url, modernHeaders("server/discover"), discover);
    expect(refused.status).toBe(401);
    const answer = await post(h.url, { ...auth, ...modernHeaders("server/discover") }, discover);
    expect(answer.status).toBe(200);
    expect(answer.headers["mcp-session-id"]).toBeUndefined();
    const m = message(answer.body);
    expect(m["id"]).toBe("d1");
    const result = m["result"] as Record<string, unknown>;
    expect(result["supportedVersions"]).toContain(MODERN);
    expect(result["capabilities"]).toMatchObject({ tools: {} });
  });

  it("answers a sessionless 2025 request that is not initialize with 400 and its id", async () => {
    const answer = await post(
      h.url,
      auth,
      JSON.stringify({ jsonrpc: "2.0", id: 41, method: "server/discover", params: {} }),
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 41, error: { code: -32000 } });
  });

  it("refuses a body whose Content-Type is sent twice with 415, like a 2025 session does", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(h.url, {
        method: "POST",
        headers: {
          ...auth,
          ...modernHeaders("tools/list"),
          "content-type": ["application/json", "application/json"],
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(
        JSON.stringify({ jsonrpc: "2.0", id: 47, method: "tools/list", params: { _meta: envelope() } }),
      );
    });
    expect(status).toBe(415);
  });

  it("answers a header that contradicts the body with -32020 and the id", async () => {
    const answer = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/call", "echo_dual") },
      JSON.stringify({ jsonrpc: "2.0", id: 42, method: "tools/list", params: { _meta: envelope() } }),
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 42, error: { code: -32020 } });
  });

  it("answers an unsupported revision with -32022, data.supported and the id", async () => {
    const answer = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/list"), "mcp-protocol-version": "2099-01-01" },
      JSON.stringify({
        jsonrpc: "2.0",
        id: 43,
        method: "tools/list",
        params: { _meta: envelope({ "io.modelcontextprotocol/protocolVersion": "2099-01-01" }) },
      }),
    );
    const body = JSON.parse(answer.body) as {
      id: unknown;
      error: { code: number; data: { supported: string[] } };
    };
    expect(body.id).toBe(43);
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toContain(MODERN);
  });

  it("answers the methods 2026-07-28 removed with 404, -32601 and the id", async () => {
    const removed: [string, Record<string, unknown>, string?][] = [
      ["resources/subscribe", { uri: "v2://dual/hello" }, "v2://dual/hello"],
      ["resources/unsubscribe", { uri: "v2://dual/hello" }, "v2://dual/hello"],
      ["logging/setLevel", { level: "debug" }],
      ["ping", {}],
    ];
    for (const [i, [method, params, name]] of removed.entries()) {
      const answer = await post(
        h.url,
        { ...auth, ...modernHeaders(method, name) },
        JSON.stringify({
          jsonrpc: "2.0",
          id: 44 + i * 100,
          method,
          params: { ...params, _meta: envelope() },
        }),
      );
      expect(answer.status, `${method}: ${answer.body}`).toBe(404);
      expect(message(answer.body)).toMatchObject({ id: 44 + i * 100, error: { code: -32601 } });
    }
  });

  it("answers malformed envelopes with -32602 naming the key, and the id", async () => {
    for (const [i, bad] of [
      { "io.modelcontextprotocol/clientCapabilities": "all" },
      { "io.modelcontextprotocol/clientInfo": 7 },
    ].entries()) {
      const answer = await post(
        h.url,
        { ...auth, ...modernHeaders("tools/list") },
        JSON.stringify({
          jsonrpc: "2.0",
          id: 50 + i,
          method: "tools/list",
          params: { _meta: envelope(bad) },
        }),
      );
      const body = message(answer.body) as { id: unknown; error: { code: number; message: string } };
      expect(body.id).toBe(50 + i);
      expect(body.error.code).toBe(-32602);
      expect(body.error.message).toContain(Object.keys(bad)[0]);
    }
  });

  it("answers a batch (2026-07-28 has none), a string _meta and array params with clear errors", async () => {
    const one = (id: number) => ({ jsonrpc: "2.0", id, method: "tools/list", params: { _meta: envelope() } });
    const answer = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/list") },
      JSON.stringify([one(70), one(71)]),
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({
      error: { code: -32600, message: expect.stringMatching(/batch/i) },
    });
    const mixed = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/list") },
      JSON.stringify({ jsonrpc: "2.0", id: 72, method: "tools/list", params: { _meta: "not an object" } }),
    );
    expect(mixed.status).toBe(400);
    expect(JSON.parse(mixed.body)).toMatchObject({ id: 72, error: { code: -32602 } });
    const noParams = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/call", "x") },
      JSON.stringify({ jsonrpc: "2.0", id: 73, method: "tools/call", params: [1, 2] }),
    );
    expect(noParams.status).toBe(400);
    expect(JSON.parse(noParams.body)).toMatchObject({ id: 73, error: { code: -32600 } });
  });

  it("answers over-deep JSON with the id, and the next request is served", async () => {
    const deep = `${"[".repeat(600)}${"]".repeat(600)}`;
    const answer = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/list") },
      `{"jsonrpc":"2.0","id":60,"method":"tools/list","params":{"_meta":${JSON.stringify(envelope())},"x":${deep}}}`,
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 60, error: { code: -32600 } });
    const list = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/list") },
      JSON.stringify({ jsonrpc: "2.0", id: 62, method: "tools/list", params: { _meta: envelope() } }),
    );
    const tools = (message(list.body)["result"] as { tools: { name: string }[] }).tools;
    const echo = tools.find((t) => t.name.endsWith("echo_dual"))?.name ?? "";
    const next = await post(
      h.url,
      { ...auth, ...modernHeaders("tools/call", echo) },
      JSON.stringify({
        jsonrpc: "2.0",
        id: 61,
        method: "tools/call",
        params: { name: echo, arguments: { message: "still here" }, _meta: envelope() },
      }),
    );
    const result = message(next.body)["result"] as CallToolResult;
    expect(result, next.body).toBeDefined();
    expect(text(result)).toBe("dual: still here");
  });
});

describe("2026-07-28 requests carry their principal through the same pipeline", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  const clients: ModernClient[] = [];
  const ALICE = "alice-token-0123456789abcdef";
  const BOB = "bob-token-0123456789abcdef";

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { dual: v2Entry("dual") },
      http: {
        principals: [
          { name: "alice", token: ALICE },
          { name: "bob", token: BOB },
        ],
      },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await h?.close();
    await tmp?.cleanup();
  });

  async function metrics(token: string): Promise<string> {
    const res = await fetch(new URL("/metrics", h.url), { headers: { authorization: `Bearer ${token}` } });
    return res.text();
  }

  it("counts each modern call under its principal (metrics), next to a legacy session's", async () => {
    const [alice, bob] = await Promise.all([
      modernHttpClient(h.url, { token: ALICE, name: "alice" }),
      modernHttpClient(h.url, { token: BOB, name: "bob" }),
    ]);
    clients.push(alice, bob);
    const echo = (await alice.listTools()).tools.find((t) => t.name.endsWith("echo_dual"))?.name ?? "";
    const calls = (m: string, p: string) =>
      metricValue(m, `amcp_principal_calls_total{principal="${p}",outcome="ok"}`);
    const before = await metrics(ALICE);
    await Promise.all(
      [alice, alice, bob].map((c) => c.callTool({ name: echo, arguments: { message: "m" } })),
    );
    const after = await metrics(ALICE);
    expect(calls(after, "alice") - calls(before, "alice")).toBe(2);
    expect(calls(after, "bob") - calls(before, "bob")).toBe(1);
    // A wrong token is refused before the modern leg sees the request.
    const refused = await post(
      h.url,
      { authorization: "Bearer wrong-token", ...modernHeaders("tools/list") },
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: envelope() } }),
    );
    expect(refused.status).toBe(401);
  });
});

describe("shutdown with modern listen streams open over HTTP", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("ends each stream gracefully (its empty listen result) when the aggregator is stopped", async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { dual: v2Entry("dual") } });
    h = await startHttp(config);
    const client = await modernHttpClient(h.url);
    try {
      const sub = await client.listen({ toolsListChanged: true });
      h.child.kill("SIGTERM");
      expect(await sub.closed).toBe("graceful");
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

describe("an idle 2026-07-28 principal's per-client connections are closed like an idle session's", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("closes the connection after sessionIdleMs without a request, and makes a new one on the next call", async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { dual: v2Entry("dual") },
      http: {
        sessionIdleMs: 1_000,
        principals: [
          { name: "alice", token: "alice-token-0123456789abcdef" },
          { name: "watcher", token: "watcher-token-0123456789abcdef" },
        ],
      },
    });
    h = await startHttp(config);
    const modern = await modernHttpClient(h.url, { token: "alice-token-0123456789abcdef" });
    // Another principal's modern client (sessionless: nothing of its own expires): its status calls
    // touch no connection of dual.
    const watcher = await modernHttpClient(h.url, { token: "watcher-token-0123456789abcdef" });
    const connections = async (): Promise<number> => {
      const result = (await watcher.callTool({ name: "status", arguments: {} })) as CallToolResult;
      const servers = (
        result.structuredContent as { servers: { name: string; clientConnections?: number }[] }
      ).servers;
      return servers.find((s) => s.name === "dual")?.clientConnections ?? -1;
    };
    try {
      const echo = (await modern.listTools()).tools.find((t) => t.name.endsWith("echo_dual"))?.name ?? "";
      await modern.callTool({ name: echo, arguments: { message: "a" } });
      expect(await connections()).toBe(1);
      await waitFor(async () => (await connections()) === 0, 15_000, 200);
      const again = await modern.callTool({ name: echo, arguments: { message: "b" } });
      expect(text(again)).toBe("dual: b");
      expect(await connections()).toBe(1);
    } finally {
      await Promise.all([modern, watcher].map((c) => c.close().catch(() => undefined)));
    }
  });
});
