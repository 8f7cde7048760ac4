import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import {
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import {
  INIT,
  PROTOCOL,
  holdStream,
  metricValue,
  openSession,
  post,
  sdkClient,
  send,
} from "../helpers/http-raw.js";

/**
 * Several principals (bearer tokens) on one HTTP front of the built aggregator, with real SDK 1.x
 * clients and raw requests for what a hostile client sends.
 */

const LEAKY = fileURLToPath(new URL("../fixtures/leaky-error-server.mjs", import.meta.url));
const ALICE = "alice-token-4f1c2e9a7b";
const BOB = "bob-token-93d7a1c5e2f8";
const DEFAULT = "default-token-6b2e8d4a1c";
const LEAKY_SECRET = "leaky-secret-5e8a2c7f1d";
const TOKENS = { ALICE_TOKEN: ALICE, BOB_TOKEN: BOB, AUTONOMOUS_MCP_TOKEN: DEFAULT, LEAKY_SECRET };

function leakyEntry(): Record<string, unknown> {
  return { command: process.execPath, args: [LEAKY], env: { LEAKY_SECRET: "${LEAKY_SECRET}" } };
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

async function callOk(client: Client): Promise<void> {
  expect(text(await client.callTool({ name: "leaky_ok", arguments: {} }))).toBe("ok");
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function sessionHeaders(token: string, session: string): Record<string, string> {
  return { ...bearer(token), "mcp-session-id": session, "mcp-protocol-version": PROTOCOL };
}

async function metrics(h: HttpHarness): Promise<string> {
  const res = await send(h.url.replace(/\/mcp$/, "/metrics"), "GET", bearer(DEFAULT));
  expect(res.status).toBe(200);
  return res.body;
}

/** The JSON log lines of stderr with this msg. */
function logLines(h: HttpHarness, msg: string): Record<string, unknown>[] {
  return h
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === msg);
}

describe("HTTP principals: sessions bound to the principal that opened them", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  const clients: Client[] = [];

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { leaky: leakyEntry() },
      logLevel: "debug",
      http: {
        principals: [
          { name: "alice", token: "${ALICE_TOKEN}" },
          { name: "bob", token: "${BOB_TOKEN}" },
        ],
        maxSessions: 100,
        maxSessionsPerPrincipal: 20,
        rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
      },
    });
    h = await startHttp(config, { env: TOKENS });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await h?.close();
    await tmp?.cleanup();
  });

  async function connect(token: string, name: string) {
    const c = await sdkClient(h.url, token, name);
    clients.push(c.client);
    return c;
  }

  it("150 initializes by one principal evict only its own sessions; another principal's session keeps working", async () => {
    const alice = await connect(ALICE, "alice");
    await callOk(alice.client);
    const before = await metrics(h);
    // 150 initializes by bob, 10 at a time: every one succeeds (bob's own idle sessions make room).
    const statuses: number[] = [];
    for (let i = 0; i < 150; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => post(h.url, bearer(BOB), INIT)));
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await callOk(alice.client);
    expect((await alice.client.listTools()).tools.map((t) => t.name)).toContain("leaky_ok");

    const after = await metrics(h);
    expect(metricValue(after, 'amcp_principal_sessions{principal="alice"}')).toBe(1);
    expect(metricValue(after, 'amcp_principal_sessions{principal="bob"}')).toBe(20);
    const closed = (m: string, p: string) =>
      metricValue(m, `amcp_session_events_total{principal="${p}",event="closed"}`);
    expect(closed(after, "bob") - closed(before, "bob")).toBe(130);
    expect(closed(after, "alice")).toBe(0);
    const evictions = () =>
      logLines(h, "http session closed").filter((l) => String(l["reason"]).startsWith("evicted"));
    await waitFor(() => evictions().length >= 130);
    expect(evictions()).toHaveLength(130);
    expect(evictions().every((l) => l["principal"] === "bob")).toBe(true);
  });

  it("another principal's session id answers 404 exactly as an unknown one, for POST, GET and DELETE", async () => {
    const alice = await connect(ALICE, "alice-2");
    const sid = alice.transport.sessionId as string;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const unknown = crypto.randomUUID();
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" });
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "leaky_ok", arguments: {} },
    });
    for (const [method, body] of [
      ["POST", ping],
      ["POST", call],
      ["GET", undefined],
      ["DELETE", undefined],
    ] as const) {
      const headers = { accept: "application/json, text/event-stream", "content-type": "application/json" };
      const foreign = await send(h.url, method, { ...headers, ...sessionHeaders(BOB, sid) }, body);
      const missing = await send(h.url, method, { ...headers, ...sessionHeaders(BOB, unknown) }, body);
      expect({ method, status: foreign.status }).toEqual({ method, status: 404 });
      expect(foreign.body).toBe(missing.body);
      expect(JSON.parse(foreign.body)).toEqual({
        jsonrpc: "2.0",
        error: { code: -32001, message: "Session not found (expired or deleted): initialize a new session" },
        id: null,
      });
    }
    // Without a token it is a 401, whatever the session id.
    expect((await send(h.url, "DELETE", { "mcp-session-id": sid })).status).toBe(401);
    // Alice's session is untouched: calls work, and its own GET stream can still be opened by her.
    await callOk(alice.client);
    const stream = await holdStream(h.url, ALICE, sid);
    expect([200, 409]).toContain(stream.status); // 409: the SDK client holds its stream already
    stream.req.destroy();
    await callOk(alice.client);
  });

  it("three principals at once: each call carries its principal in logs and metrics; tokens never logged", async () => {
    const alice = await connect(ALICE, "alice-3");
    const bob = await connect(BOB, "bob-3");
    const dflt = await connect(DEFAULT, "default-3");
    const before = await metrics(h);
    await Promise.all([alice, bob, dflt, alice].map((c) => callOk(c.client)));
    const after = await metrics(h);
    const calls = (m: string, p: string) =>
      metricValue(m, `amcp_principal_calls_total{principal="${p}",outcome="ok"}`);
    expect(calls(after, "alice") - calls(before, "alice")).toBe(2);
    expect(calls(after, "bob") - calls(before, "bob")).toBe(1);
    expect(calls(after, "default") - calls(before, "default")).toBe(1);

    const ok = () => logLines(h, "call ok");
    await waitFor(() => ok().some((l) => l["principal"] === "default"));
    for (const p of ["alice", "bob", "default"])
      expect(ok().some((l) => l["principal"] === p && l["server"] === "leaky" && l["tool"] === "ok")).toBe(
        true,
      );
    const opened = logLines(h, "http session opened");
    for (const [c, p] of [
      [alice, "alice"],
      [bob, "bob"],
      [dflt, "default"],
    ] as const)
      expect(opened).toContainEqual(
        expect.objectContaining({ session: c.transport.sessionId, principal: p }),
      );
    // A DELETE by its owner closes the session with an audit line.
    const dfltSession = dflt.transport.sessionId;
    await dflt.transport.terminateSession();
    await waitFor(() => logLines(h, "http session closed").some((l) => l["principal"] === "default"));
    expect(logLines(h, "http session closed")).toContainEqual(
      expect.objectContaining({
        session: dfltSession,
        principal: "default",
        reason: "deleted by the client",
      }),
    );
    const principalsLine = logLines(h, "http front principals")[0];
    expect(principalsLine?.["principals"]).toEqual(["default", "alice", "bob"]);
    for (const secret of [ALICE, BOB, DEFAULT, LEAKY_SECRET]) expect(h.stderr()).not.toContain(secret);
  });

  it("status shows every session a server's last error as a category and a scrubbed message", async () => {
    const alice = await connect(ALICE, "alice-4");
    const bob = await connect(BOB, "bob-4");
    interface Shown {
      servers: { name: string; lastError?: { category: string; message: string; at: string } }[];
    }
    const status = async () => {
      const r = (await bob.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
      const shown = r.structuredContent as unknown as Shown;
      return {
        text: text(r),
        all: JSON.stringify(r),
        last: shown.servers.find((s) => s.name === "leaky")?.lastError,
      };
    };
    const tool = (await alice.client.callTool({ name: "leaky_leak_tool", arguments: {} })) as CallToolResult;
    expect(tool.isError).toBe(true);
    let s = await status();
    expect(s.last?.category).toBe("tool_error");
    expect(s.last?.message).toBe("upstream rejected apiKey=[redacted] (trello token [redacted])");
    expect(s.text).toContain(
      "last error (tool_error): upstream rejected apiKey=[redacted] (trello token [redacted])",
    );

    // A downstream JSON-RPC error reaches the caller as one (its own call: not scrubbed).
    await expect(alice.client.callTool({ name: "leaky_leak_rpc", arguments: {} })).rejects.toThrow(
      /api\.example\.test/,
    );
    s = await status();
    expect(s.last?.category).toBe("rpc_error");
    expect(s.last?.message).toContain(
      "POST https://[redacted]@api.example.test/v1/items?access_token=[redacted]",
    );
    expect(s.last?.message).toContain("Bearer [redacted]");
    for (const leaked of [LEAKY_SECRET, "ghp_0123456789", "0123456789abcdef0123456789abcdef", "deploy:"])
      expect(s.all).not.toContain(leaked);
    // The operator's log has the full text, redacted.
    const failed = () => logLines(h, "call failed").filter((l) => l["tool"] === "leak_rpc");
    await waitFor(() => failed().length > 0);
    expect(String(failed().at(-1)?.["err"])).toContain("api.example.test/v1/items");
    expect(h.stderr()).not.toContain(LEAKY_SECRET);
  });
});

describe("HTTP principals: caps refuse rather than evict a session in use", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  const P1 = "p1-token-0a1b2c3d4e5f";
  const P2 = "p2-token-5f4e3d2c1b0a";

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { leaky: leakyEntry() },
      http: {
        principals: [
          { name: "p1", token: P1, maxSessions: 2 },
          { name: "p2", token: P2, maxSessions: 3 },
        ],
        maxSessions: 3,
      },
    });
    h = await startHttp(config, { env: { LEAKY_SECRET } });
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("429 at a principal's cap when all its sessions are in use, 503 at the global ceiling; nobody else's session is closed", async () => {
    const a = await openSession(h.url, P1);
    const b = await openSession(h.url, P1);
    const streams = [await holdStream(h.url, P1, a), await holdStream(h.url, P1, b)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const over = await post(h.url, bearer(P1), INIT);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body).error.message).toBe(
      'Too many sessions: principal "p1" has 2 open, all in use (its cap); close one (HTTP DELETE) or raise http.maxSessionsPerPrincipal',
    );

    const c = await openSession(h.url, P2); // the third session: the ceiling is reached
    const cStream = await holdStream(h.url, P2, c);
    const full = await post(h.url, bearer(P2), INIT);
    expect(full.status).toBe(503);
    expect(full.headers["retry-after"]).toBe("60");
    expect(JSON.parse(full.body).error.message).toBe(
      "Server busy: 3 sessions are open (http.maxSessions); try again later",
    );
    // p2's own session, once idle, is the one that makes room for p2.
    cStream.req.destroy();
    await waitFor(async () => (await post(h.url, bearer(P2), INIT)).status === 200);
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" });
    expect((await post(h.url, sessionHeaders(P2, c), ping)).status).toBe(404);
    for (const id of [a, b]) expect((await post(h.url, sessionHeaders(P1, id), ping)).status).toBe(200);
    for (const s of streams) s.req.destroy();
    const refused = (await send(h.url.replace(/\/mcp$/, "/metrics"), "GET", bearer(P1))).body;
    expect(metricValue(refused, 'amcp_session_events_total{principal="p1",event="refused"}')).toBe(1);
    expect(
      metricValue(refused, 'amcp_session_events_total{principal="p2",event="refused"}'),
    ).toBeGreaterThanOrEqual(1);
    await waitFor(() => h.stderr().includes('"msg":"http session refused"'));
    expect(h.stderr()).toMatch(
      /"level":40[^\n]*"principal":"p1","reason":"principal_cap"[^\n]*"msg":"http session refused"/,
    );
  });
});
