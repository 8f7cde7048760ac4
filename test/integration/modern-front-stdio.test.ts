/**
 * The stdio front serves both protocol generations (issue #16): a v2 client pinned to 2026-07-28 and a
 * v1 (2025-era) client, each on its own aggregator process over the same config (a dual-era and a
 * legacy server behind), list and call tools, read resources, get prompts; the modern client's
 * subscriptions/listen stream gets a tools list_changed when a downstream's tools change, and a
 * resources/updated for a URI it follows. Raw lines: server/discover, -32022 with data.supported, a
 * late initialize on a modern connection, malformed envelopes and over-deep JSON each get a clear error
 * with the request's id, and the connection goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { envelope, linePeer, modernStdioClient, MODERN, v2Entry, type LinePeer } from "../helpers/modern.js";

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

describe("the stdio front serves 2026-07-28 and 2025 clients", () => {
  let tmp: TempDir;
  let config: string;
  let modern: Client;
  let legacy: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    config = await writeConfig(tmp.dir, {
      mcpServers: { dual: v2Entry("dual"), old: v2Entry("legacy", "old") },
    });
    [modern, legacy] = await Promise.all([modernStdioClient(config), startStdio(config)]);
  });

  afterAll(async () => {
    await modern?.close().catch(() => undefined);
    await legacy?.close();
    await tmp?.cleanup();
  });

  it("negotiates 2026-07-28 with server/discover: our identity, instructions-free, capabilities", () => {
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(modern.getServerVersion()?.name).toBe("autonomous-mcp");
    expect(modern.getServerCapabilities()?.tools).toBeDefined();
  });

  it("lists and calls tools, reads resources and gets prompts on both generations", async () => {
    for (const client of [modern, legacy.client]) {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual([...tools].sort());
      for (const echo of ["echo_dual", "echo_old"]) {
        const name = tools.find((t) => t.endsWith(echo));
        expect(name, `${echo} in ${tools.join(", ")}`).toBeDefined();
        const result = await client.callTool({ name: name ?? "", arguments: { message: "hi" } });
        expect(text(result)).toBe(`${echo.slice(5)}: hi`);
      }
      const read = await client.readResource({ uri: "v2://dual/hello" });
      expect(read.contents[0]).toMatchObject({ text: "hello from dual" });
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      const greet = prompts.find((p) => p.endsWith("greet_old")) ?? "";
      const prompt = await client.getPrompt({ name: greet, arguments: { who: "Ada" } });
      expect(prompt.messages[0]?.content).toMatchObject({ text: "Hello Ada from old" });
    }
  });

  it("gives the modern client a tools list_changed on its listen stream when a downstream adds a tool", async () => {
    const changed: string[] = [];
    const sub = await modern.listen({ toolsListChanged: true });
    expect(sub.honoredFilter).toEqual({ toolsListChanged: true });
    modern.setNotificationHandler("notifications/tools/list_changed", () => void changed.push("tools"));
    const add = (await modern.listTools()).tools.find((t) => t.name.endsWith("add_tool_dual"))?.name ?? "";
    await modern.callTool({ name: add, arguments: { tool: "late_stdio" } });
    await waitFor(() => changed.length > 0);
    const names = (await modern.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.endsWith("late_stdio"))).toBe(true);
    // The 2025 client on its own aggregator still works (its process is untouched by the other).
    expect((await legacy.client.listTools()).tools.length).toBeGreaterThan(0);
    await sub.close();
  });

  it("delivers resources/updated of a followed URI on the modern listen stream (and to a 2025 subscriber)", async () => {
    const updated: string[] = [];
    modern.setNotificationHandler("notifications/resources/updated", (n) => void updated.push(n.params.uri));
    const sub = await modern.listen({ resourceSubscriptions: ["v2://dual/hello"] });
    expect(sub.honoredFilter.resourceSubscriptions).toEqual(["v2://dual/hello"]);
    const touch = (await modern.listTools()).tools.find((t) => t.name.endsWith("touch_dual"))?.name ?? "";
    // The downstream subscription is made when the stream opens: touch until the update comes through.
    await waitFor(async () => {
      await modern.callTool({ name: touch, arguments: {} });
      return updated.length > 0;
    });
    expect(updated[0]).toBe("v2://dual/hello");
    await sub.close();

    const legacyUpdates: string[] = [];
    legacy.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      legacyUpdates.push(n.params.uri);
    });
    await legacy.client.subscribeResource({ uri: "v2://dual/hello" });
    const touchOld = (await legacy.client.listTools()).tools.find((t) => t.name.endsWith("touch_dual"));
    await legacy.client.callTool({ name: touchOld?.name ?? "", arguments: {} });
    await waitFor(() => legacyUpdates.length > 0);
  });
});

describe("raw 2026-07-28 lines on the stdio front", () => {
  let tmp: TempDir;
  let config: string;
  let peer: LinePeer;

  beforeAll(async () => {
    tmp = await tempDir();
    config = await writeConfig(tmp.dir, { mcpServers: { dual: v2Entry("dual") } });
    peer = linePeer(config);
  });

  afterAll(async () => {
    await peer?.close();
    await tmp?.cleanup();
  });

  it("answers a version it does not serve with -32022 and data.supported (the id kept)", async () => {
    peer.send({
      jsonrpc: "2.0",
      id: "v1",
      method: "server/discover",
      params: { _meta: envelope({ "io.modelcontextprotocol/protocolVersion": "2099-01-01" }) },
    });
    const answer = await peer.answer("v1");
    expect(answer["error"]).toMatchObject({ code: -32022, data: { supported: [MODERN] } });
  });

  it("answers a malformed envelope with -32602 naming the key, with the id", async () => {
    peer.send({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/list",
      params: { _meta: envelope({ "io.modelcontextprotocol/clientCapabilities": "all of them" }) },
    });
    const answer = await peer.answer(7);
    const error = answer["error"] as { code: number; message: string };
    expect(error.code).toBe(-32602);
    expect(error.message).toContain("clientCapabilities");
  });

  it("answers server/discover without a session, with our capabilities", async () => {
    peer.send({ jsonrpc: "2.0", id: "d1", method: "server/discover", params: { _meta: envelope() } });
    const answer = await peer.answer("d1");
    const result = answer["result"] as Record<string, unknown>;
    expect(result["supportedVersions"]).toContain(MODERN);
    expect(result["capabilities"]).toMatchObject({ tools: {} });
    const meta = result["_meta"] as Record<string, unknown>;
    expect(meta["io.modelcontextprotocol/serverInfo"]).toMatchObject({ name: "autonomous-mcp" });
    expect(result["resultType"]).toBe("complete");
  });

  it("pins the connection with a modern request: results carry resultType and cache hints", async () => {
    peer.send({ jsonrpc: "2.0", id: 10, method: "tools/list", params: { _meta: envelope() } });
    const result = (await peer.answer(10))["result"] as Record<string, unknown>;
    expect(result["resultType"]).toBe("complete");
    expect(typeof result["ttlMs"]).toBe("number");
    expect(["public", "private"]).toContain(result["cacheScope"]);
  });

  it("refuses initialize once the connection is modern (-32022 naming the versions), and goes on", async () => {
    peer.send({
      jsonrpc: "2.0",
      id: 11,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    });
    const error = (await peer.answer(11))["error"] as { code: number; data?: { supported?: string[] } };
    expect(error.code).toBe(-32022);
    expect(error.data?.supported).toContain(MODERN);
    peer.send({ jsonrpc: "2.0", id: 12, method: "tools/list", params: { _meta: envelope() } });
    expect((await peer.answer(12))["result"]).toBeDefined();
  });

  it("answers a method 2026-07-28 removed (resources/subscribe) with -32601 and its id", async () => {
    peer.send({
      jsonrpc: "2.0",
      id: 13,
      method: "resources/subscribe",
      params: { uri: "v2://dual/hello", _meta: envelope() },
    });
    expect((await peer.answer(13))["error"]).toMatchObject({ code: -32601 });
  });

  it("answers over-deep JSON and a bad id shape with errors, the connection going on", async () => {
    let deep: unknown = "x";
    for (let i = 0; i < 600; i++) deep = { d: deep };
    peer.send({
      jsonrpc: "2.0",
      id: 14,
      method: "tools/call",
      params: { name: "a", arguments: deep, _meta: envelope() },
    });
    // Too deep in its arguments alone: an isError result the model can act on, with the id.
    const deepAnswer = await peer.answer(14);
    expect(JSON.stringify(deepAnswer)).toMatch(/nested deeper than/i);
    peer.sendRaw(
      `{"jsonrpc":"2.0","id":17,"method":"tools/list","params":${"[".repeat(600)}${"]".repeat(600)}}`,
    );
    expect((await peer.answer(17))["error"]).toMatchObject({ code: -32600 });
    peer.send({ jsonrpc: "2.0", id: 15, method: "tools/call", params: { name: 5, _meta: envelope() } });
    expect((await peer.answer(15))["error"]).toMatchObject({ code: -32602 });
    peer.send({ jsonrpc: "2.0", id: 16, method: "tools/list", params: { _meta: envelope() } });
    expect((await peer.answer(16))["result"]).toBeDefined();
  });
});

describe("a 2025-era client that probes first on the stdio front", () => {
  let tmp: TempDir;
  let peer: LinePeer;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { dual: v2Entry("dual") } });
    peer = linePeer(config);
  });

  afterAll(async () => {
    await peer?.close();
    await tmp?.cleanup();
  });

  it("gets server/discover answered, then falls back to initialize on the same pipe and is served as 2025", async () => {
    peer.send({ jsonrpc: "2.0", id: "probe", method: "server/discover", params: { _meta: envelope() } });
    expect((await peer.answer("probe"))["result"]).toBeDefined();
    peer.send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "old", version: "1" } },
    });
    const init = (await peer.answer(1))["result"] as Record<string, unknown>;
    expect(init["protocolVersion"]).toBe("2025-11-25");
    expect(init["serverInfo"]).toMatchObject({ name: "autonomous-mcp" });
    peer.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    peer.send({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} });
    const list = (await peer.answer(2))["result"] as Record<string, unknown>;
    expect((list["tools"] as unknown[]).length).toBeGreaterThan(0);
    // A 2025-era answer carries none of the 2026-07-28 fields.
    expect(list["resultType"]).toBeUndefined();
    expect(list["ttlMs"]).toBeUndefined();
  });
});
