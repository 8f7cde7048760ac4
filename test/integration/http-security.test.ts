import { spawn } from "node:child_process";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CLI,
  memoryEntry,
  startHttp,
  tempDir,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

const TOKEN = "test-token-0123456789abcdef";
const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

function post(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
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

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    })
      .on("error", reject)
      .end();
  });
}

describe("HTTP front security", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let base: string;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { memory: memoryEntry(tmp.dir) },
      http: { rateLimit: { requestsPerSecond: 1, burst: 5 }, maxBodyBytes: 2048 },
    });
    h = await startHttp(config, { env: { AUTONOMOUS_MCP_TOKEN: TOKEN } });
    base = h.url.replace(/\/mcp$/, "");
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers 401 with WWW-Authenticate without the bearer token, and with a wrong one", async () => {
    const none = await post(h.url, {}, INIT);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    const wrong = await post(h.url, { authorization: "Bearer nope" }, INIT);
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain(TOKEN);
  });

  it("serves a client that sends the token", async () => {
    const client = new Client({ name: "c", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.url), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.some((t) => t.name === "memory_read_graph")).toBe(true);
    await client.close();
  });

  it("keeps /healthz open and protects /readyz", async () => {
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/readyz`)).status).toBe(401);
    const ready = await get(`${base}/readyz`, { authorization: `Bearer ${TOKEN}` });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      ready: true,
      servers: [{ name: "memory", state: "ready", breaker: "closed" }],
    });
  });

  it("refuses a body over the size limit with 413", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(4096) } });
    const res = await post(h.url, { authorization: `Bearer ${TOKEN}` }, big);
    expect(res.status).toBe(413);
  });

  it("rate-limits a session with 429 and Retry-After", async () => {
    const init = await post(h.url, { authorization: `Bearer ${TOKEN}` }, INIT);
    const session = init.headers["mcp-session-id"] as string;
    let limited: { status: number; headers: Record<string, unknown> } | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const res = await post(
        h.url,
        { authorization: `Bearer ${TOKEN}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
        JSON.stringify({ jsonrpc: "2.0", id: 10 + i, method: "ping" }),
      );
      if (res.status === 429) limited = res;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });
});

describe("HTTP front binding", () => {
  it("refuses to listen on a non-loopback host without a token, and says why", async () => {
    const tmp = await tempDir();
    try {
      const config = await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } });
      const child = spawn(
        process.execPath,
        [CLI, "serve", "--config", config, "--transport", "http", "--host", "0.0.0.0", "--port", "0"],
        {
          env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(2);
      expect(err).toMatch(/refusing to listen on 0\.0\.0\.0 without an auth token/);
    } finally {
      await tmp.cleanup();
    }
  });
});
