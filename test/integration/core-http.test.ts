import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateMessageRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  FULL_CLIENT_CAPS,
  everythingEntry,
  memoryEntry,
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

function rawPost(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
      },
      (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

describe("aggregator over Streamable HTTP", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { memory: memoryEntry(tmp.dir), everything: everythingEntry() },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("binds to loopback by default and serves list + call", async () => {
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = await h.connect();
    const { tools } = await client.listTools();
    expect(tools.filter((t) => t.name.startsWith("memory_"))).toHaveLength(9);
    const result = (await client.callTool({
      name: "everything_echo",
      arguments: { message: "over http" },
    })) as CallToolResult;
    expect(JSON.stringify(result.content)).toContain("over http");
  });

  it("shares one downstream connection between sessions", async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.callTool({
      name: "memory_create_entities",
      arguments: { entities: [{ name: "shared", entityType: "t", observations: [] }] },
    });
    const graph = (await b.callTool({ name: "memory_read_graph", arguments: {} })) as CallToolResult;
    expect(JSON.stringify(graph.content)).toContain("shared");
  });

  it("relays sampling to the session whose call caused it", async () => {
    const client = await h.connect(FULL_CLIENT_CAPS);
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      model: "m",
      role: "assistant",
      content: { type: "text", text: "from-the-http-session" },
    }));
    await waitFor(async () =>
      (await client.listTools()).tools.some((t) => t.name === "everything_trigger-sampling-request"),
    );
    const result = await client.callTool({
      name: "everything_trigger-sampling-request",
      arguments: { prompt: "x", maxTokens: 5 },
    });
    expect(JSON.stringify(result)).toContain("from-the-http-session");
  });

  it("refuses a foreign Host header with 403 (DNS-rebinding protection)", async () => {
    const res = await rawPost(h.url, { host: "evil.example.com" }, INIT);
    expect(res.status).toBe(403);
    expect(res.body).toContain("Host");
  });

  it("refuses a foreign Origin with 403", async () => {
    const res = await rawPost(h.url, { origin: "https://evil.example.com" }, INIT);
    expect(res.status).toBe(403);
  });

  it("answers a request without a session cleanly with 400 and its id", async () => {
    // A 2025-era request that is not initialize: no session to serve it.
    const legacy = await rawPost(
      h.url,
      {},
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    );
    expect(legacy.status).toBe(400);
    expect(JSON.parse(legacy.body)).toMatchObject({ jsonrpc: "2.0", id: 1, error: { code: -32000 } });
    // A 2026-07-28 header without the body's _meta envelope: the modern leg names what is missing.
    const res = await rawPost(
      h.url,
      { "mcp-protocol-version": "2026-07-28" },
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "server/discover", params: {} }),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: "2.0", id: 2, error: { code: -32602 } });
  });

  it("answers an unknown session with 404 and invalid JSON with a parse error", async () => {
    const unknown = await rawPost(h.url, { "mcp-session-id": "no-such-session" }, INIT);
    expect(unknown.status).toBe(404);
    const bad = await rawPost(h.url, {}, "{not json");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: -32700 } });
  });

  it("ends a session on DELETE", async () => {
    const init = await rawPost(h.url, {}, INIT);
    const sessionId = init.headers["mcp-session-id"] as string;
    expect(sessionId).toBeTruthy();
    const del = await new Promise<number>((resolve, reject) => {
      const req = request(h.url, { method: "DELETE", headers: { "mcp-session-id": sessionId } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(del).toBe(200);
    const after = await rawPost(
      h.url,
      { "mcp-session-id": sessionId },
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
    );
    expect(after.status).toBe(404);
  });
});
