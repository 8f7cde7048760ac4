import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  McpError,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  FULL_CLIENT_CAPS,
  everythingEntry,
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { SseReader, answer, parseSse, sseMessages } from "../helpers/sse.js";
import { JSON_ANSWER_WINDOW_MS } from "../../src/front/jsonAnswer.js";

/**
 * The HTTP front's one tools/call path: every POST that holds requests goes to the SDK's session
 * transport (v2 `NodeStreamableHTTPServerTransport`), which answers it as a `text/event-stream`
 * (priming event for protocol 2025-11-25 and later, then progress, server→client requests and the
 * answer as `data:` events). tools/call params are validated by the SDK's v2 schemas; what breaks the
 * basic JSON-RPC request shape is refused before it by our screen (src/jsonrpc/screen.ts). Checked with
 * raw fetch (what goes over the wire) and with the SDK client.
 */

const ACCEPT = "application/json, text/event-stream";

/** A session opened by hand: initialize + notifications/initialized, then raw POSTs. */
class RawSession {
  constructor(
    readonly url: string,
    readonly sessionId: string,
    readonly version: string,
  ) {}

  static async open(
    url: string,
    capabilities: ClientCapabilities = {},
    version = "2025-11-25",
  ): Promise<RawSession> {
    const init = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: version, capabilities, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    const sessionId = init.headers.get("mcp-session-id");
    if (!sessionId) throw new Error(`no session: ${init.status} ${await init.text()}`);
    await init.text();
    const s = new RawSession(url, sessionId, version);
    const ack = await s.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect(ack.status).toBe(202);
    return s;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      "content-type": "application/json",
      accept: ACCEPT,
      "mcp-session-id": this.sessionId,
      "mcp-protocol-version": this.version,
      ...extra,
    };
  }

  post(body: unknown, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    return fetch(this.url, {
      method: "POST",
      headers: this.headers(extra),
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  }

  call(
    id: number | string,
    name: string,
    args: Record<string, unknown> = {},
    meta?: object,
  ): Promise<Response> {
    return this.post({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
    });
  }
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

interface Stats {
  calls: Record<string, number>;
  cancelled: unknown[];
  cancellations: { requestId: unknown; reason?: string }[];
  aborted: unknown[];
}

/** Grace for a dropped resumable stream (http.resumeGraceMs): short, so the test of it ends soon. */
const GRACE_MS = 2_000;

describe("HTTP front: tools/call on the SDK transport", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let raw: RawSession;
  let nextId = 100;

  const stats = async (): Promise<Stats> => {
    const body = await answer(await raw.call(nextId++, "fault_stats"));
    return JSON.parse(text(body["result"])) as Stats;
  };
  const started = async (tool: string, before: Stats): Promise<void> =>
    waitFor(async () => ((await stats()).calls[tool] ?? 0) > (before.calls[tool] ?? 0));

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      // fault: one connection for every session (the tests read its stats from another session);
      // everything: per-client by default, so sampling and elicitation reach the calling session.
      mcpServers: {
        fault: { ...faultServerEntry("normal"), sessionMode: "shared" },
        everything: everythingEntry(),
      },
      http: { resumeGraceMs: GRACE_MS },
    });
    h = await startHttp(config);
    raw = await RawSession.open(h.url);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers a quick call as JSON, and a call still running after the JSON window as an event stream", async () => {
    // Quick: answered within JSON_ANSWER_WINDOW_MS (a loaded machine may take longer once: then it streams).
    let id = 0;
    let res!: Response;
    await waitFor(async () => {
      res = await raw.call(++id, "fault_echo", { message: "plain" });
      if (res.headers.get("content-type") === "application/json") return true;
      await res.text();
      return false;
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBe(raw.sessionId);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id,
      result: { content: [{ type: "text", text: "plain" }] },
    });
    const byString = await raw.call("call-a", "fault_echo", { message: "string id" });
    expect(await answer(byString)).toMatchObject({
      id: "call-a",
      result: { content: [{ text: "string id" }] },
    });
    // Still running when the window closes: the SDK's stream, its priming event first (resumable).
    const slow = await raw.call(13, "fault_slow", { ms: JSON_ANSWER_WINDOW_MS + 150 });
    expect(slow.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await slow.text());
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ data: "", retry: 1000 });
    expect(events[0]?.id).toBeTruthy();
    expect(JSON.parse(events[1]?.data ?? "")).toEqual({
      jsonrpc: "2.0",
      id: 13,
      result: { content: [{ type: "text", text: "done" }] },
    });
  });

  it("streams progress as SSE, priming event first and the result last", async () => {
    const res = await raw.call(2, "fault_progress", { steps: 3, delayMs: 20 }, { progressToken: "p-2" });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("mcp-session-id")).toBe(raw.sessionId);
    const events = parseSse(await res.text());
    expect(events).toHaveLength(5);
    const [priming, ...rest] = events;
    expect(priming).toMatchObject({ data: "", retry: 1000 });
    expect(priming?.id).toBeTruthy();
    const messages = rest.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(rest.every((e) => e.event === "message")).toBe(true);
    expect(messages.slice(0, 3)).toEqual(
      [1, 2, 3].map((i) => ({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: "p-2", progress: i, total: 3, message: `step ${i}/3` },
      })),
    );
    expect(messages[3]).toMatchObject({ id: 2, result: { content: [{ text: "progressed 3" }] } });
    // Event ids as the SDK's event store gives them: one stream, in order.
    const ids = events.map((e) => e.id ?? "");
    const stream = (id: string) => id.slice(0, id.lastIndexOf("_"));
    expect(new Set(ids.map(stream)).size).toBe(1);
    const seq = ids.map((id) => Number(id.slice(id.lastIndexOf("_") + 1)));
    expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  it("sends no priming event to a client older than 2025-11-25 (as the SDK)", async () => {
    const old = await RawSession.open(h.url, {}, "2025-06-18");
    const res = await old.call(3, "fault_progress", { steps: 1, delayMs: 5 }, { progressToken: 7 });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await res.text());
    expect(events.every((e) => e.data !== "" && e.retry === undefined)).toBe(true);
    expect(events.map((e) => (JSON.parse(e.data) as { method?: string }).method ?? "result")).toEqual([
      "notifications/progress",
      "result",
    ]);
    const slow = parseSse(
      await (await old.call(4, "fault_slow", { ms: JSON_ANSWER_WINDOW_MS + 150 })).text(),
    );
    expect(slow).toHaveLength(1);
    expect(JSON.parse(slow[0]?.data ?? "")).toMatchObject({ id: 4, result: { content: [{ text: "done" }] } });
  });

  it("gives the SDK client its progress before the result", async () => {
    const client = await h.connect();
    const progress: number[] = [];
    const result = await client.callTool(
      { name: "fault_progress", arguments: { steps: 3, delayMs: 10 } },
      undefined,
      {
        onprogress: (p) => progress.push(p.progress),
      },
    );
    expect(text(result)).toBe("progressed 3");
    expect(progress).toEqual([1, 2, 3]);
  });

  it("answers tool errors: isError results and JSON-RPC errors with their codes and messages", async () => {
    const failed = await raw.call(4, "fault_fail_tool");
    expect(failed.status).toBe(200);
    expect(await answer(failed)).toEqual({
      jsonrpc: "2.0",
      id: 4,
      result: { isError: true, content: [{ type: "text", text: "tool failed on purpose" }] },
    });
    const invalid = await answer(await raw.call(5, "fault_echo", {}));
    expect(invalid).toMatchObject({ id: 5, result: { isError: true } });
    expect(text(invalid["result"])).toBe(
      "Invalid arguments for fault_echo: (root): must have required property 'message'",
    );
    expect(await answer(await raw.call(6, "fault_no_such_tool"))).toEqual({
      jsonrpc: "2.0",
      id: 6,
      error: { code: -32602, message: "Unknown tool: fault_no_such_tool" },
    });
    // A downstream's JSON-RPC error keeps its code and message.
    expect(await answer(await raw.call(7, "fault_rpc_error"))).toEqual({
      jsonrpc: "2.0",
      id: 7,
      error: { code: -32603, message: "rpc error on purpose" },
    });

    const client = await h.connect();
    expect((await client.callTool({ name: "fault_fail_tool", arguments: {} })).isError).toBe(true);
    for (const [name, code] of [
      ["fault_no_such_tool", -32602],
      ["fault_rpc_error", -32603],
    ] as const) {
      const err = await client.callTool({ name, arguments: {} }).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(McpError);
      expect((err as McpError).code, name).toBe(code);
    }
  });

  it("refuses malformed requests with a clear status and error, and keeps serving the session", async () => {
    const bogus = new RawSession(h.url, "no-such-session", "2025-11-25");
    const unknown = await bogus.call(1, "fault_echo", { message: "x" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: -32001 } });

    const badJson = await raw.post("{not json");
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: -32700 } });

    const extraMember = await raw.post({
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "fault_echo", arguments: { message: "x" } },
      extra: true,
    });
    // The SDK would answer this -32700 without the id; the screen answers -32600 with it (issue #14).
    expect(extraMember.status).toBe(400);
    expect(await extraMember.json()).toEqual({
      jsonrpc: "2.0",
      id: 8,
      error: { code: -32600, message: "Invalid Request: not a valid request" },
    });

    // tools/call params the SDK's v2 schema refuses: -32602 with the id (an answer like any other).
    for (const [id, params, path, why] of [
      [9, { arguments: { message: "no name" } }, "name", "expected string, received undefined"],
      [10, { name: 5, arguments: { message: "x" } }, "name", "expected string, received number"],
      [11, { name: "fault_echo", arguments: [1] }, "arguments", "expected record, received array"],
      [12, { name: "fault_echo", arguments: null }, "arguments", "expected record, received null"],
    ] as const) {
      const res = await raw.post({ jsonrpc: "2.0", id, method: "tools/call", params });
      expect(res.status, JSON.stringify(params)).toBe(200);
      const body = await answer(res);
      expect(body).toMatchObject({ jsonrpc: "2.0", id, error: { code: -32602 } });
      const message = (body["error"] as { message: string }).message;
      expect(message.startsWith("Invalid tools/call request:"), message).toBe(true);
      const issues = JSON.parse(message.slice("Invalid tools/call request:".length)) as {
        path: string[];
        message: string;
      }[];
      expect(issues).toEqual([
        expect.objectContaining({ path: ["params", path], message: `Invalid input: ${why}` }),
      ]);
    }

    // Params that break the basic JSON-RPC request schema (`_meta`, its progressToken): our screen, 400.
    for (const [id, meta] of [
      [13, "string"],
      [14, { progressToken: {} }],
      [15, { progressToken: 1.5 }],
      [16, { progressToken: true }],
    ] as const) {
      const res = await raw.post({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "fault_echo", arguments: { message: "x" }, _meta: meta },
      });
      expect(res.status, JSON.stringify(meta)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json()).toEqual({
        jsonrpc: "2.0",
        id,
        error: { code: -32602, message: "Invalid params: the request's params do not match the MCP schema" },
      });
    }

    // The SDK transport's header checks.
    const badVersion = await raw.post(
      { jsonrpc: "2.0", id: 17, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { "mcp-protocol-version": "1999-01-01" },
    );
    expect(badVersion.status).toBe(400);
    expect(await badVersion.json()).toMatchObject({
      error: { code: -32000, message: expect.stringContaining("Unsupported protocol version: 1999-01-01") },
    });
    const accept = await raw.post(
      { jsonrpc: "2.0", id: 18, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { accept: "application/json" },
    );
    expect(accept.status).toBe(406);
    expect(await accept.json()).toMatchObject({ error: { code: -32000 } });
    const type = await raw.post(
      { jsonrpc: "2.0", id: 19, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { "content-type": "text/plain" },
    );
    expect(type.status).toBe(415);
    expect(await type.json()).toMatchObject({ error: { code: -32000 } });
    // Two Content-Type lines: Node keeps the first, the SDK sees both and refuses.
    const twice = await new Promise<number>((resolve, reject) => {
      const req = request(raw.url, {
        method: "POST",
        headers: { ...raw.headers(), "content-type": ["application/json", "application/json"] },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(
        JSON.stringify({ jsonrpc: "2.0", id: 20, method: "tools/call", params: { name: "fault_echo" } }),
      );
    });
    expect(twice).toBe(415);

    // Nothing else was lost: the session still answers.
    expect(await answer(await raw.call(21, "fault_echo", { message: "still here" }))).toMatchObject({
      id: 21,
      result: { content: [{ text: "still here" }] },
    });
  });

  it("answers a batch on one event stream (both calls)", async () => {
    const res = await raw.post([
      {
        jsonrpc: "2.0",
        id: 21,
        method: "tools/call",
        params: { name: "fault_echo", arguments: { message: "a" } },
      },
      {
        jsonrpc: "2.0",
        id: 22,
        method: "tools/call",
        params: { name: "fault_echo", arguments: { message: "b" } },
      },
    ]);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const answers = sseMessages(await res.text()).sort((x, y) => Number(x["id"]) - Number(y["id"]));
    expect(answers).toEqual([
      { jsonrpc: "2.0", id: 21, result: { content: [{ type: "text", text: "a" }] } },
      { jsonrpc: "2.0", id: 22, result: { content: [{ type: "text", text: "b" }] } },
    ]);
  });

  it("cancels a call on notifications/cancelled: the downstream sees the cancel, no result is sent", async () => {
    const s = await RawSession.open(h.url);
    const before = await stats();
    const controller = new AbortController();
    const res = await s.post(
      { jsonrpc: "2.0", id: 30, method: "tools/call", params: { name: "fault_hang", arguments: {} } },
      {},
      controller.signal,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = new SseReader(res);
    expect(await reader.next()).toMatchObject({ data: "", retry: 1000 }); // the priming event
    let settled = false;
    const next = reader.next().finally(() => (settled = true));
    await started("hang", before);
    const ack = await s.post({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 30, reason: "stop" },
    });
    expect(ack.status).toBe(202);
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const after = await stats();
    expect(after.cancellations.slice(before.cancellations.length)).toEqual([
      { requestId: expect.anything(), reason: "stop" },
    ]);
    // The session goes on; the cancelled call's stream got nothing (the SDK leaves it open).
    expect(await answer(await s.call(31, "fault_echo", { message: "next" }))).toMatchObject({
      id: 31,
      result: { content: [{ text: "next" }] },
    });
    expect(settled).toBe(false);
    // Ending the session ends the stream: still no result for the cancelled call.
    expect((await fetch(h.url, { method: "DELETE", headers: s.headers() })).status).toBe(200);
    expect(await next).toBeUndefined();
    controller.abort();
  });

  it("after progress, a cancelled call's stream gets no result (and stays open, as the SDK leaves it)", async () => {
    const s = await RawSession.open(h.url);
    const before = await stats();
    const controller = new AbortController();
    const res = await s.post(
      {
        jsonrpc: "2.0",
        id: 31,
        method: "tools/call",
        params: {
          name: "fault_progress",
          arguments: { steps: 50, delayMs: 100 },
          _meta: { progressToken: 1 },
        },
      },
      {},
      controller.signal,
    );
    const reader = new SseReader(res);
    await reader.until((m) => m["method"] === "notifications/progress");
    await s.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 31 } });
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    // Once the session ends, the stream ends: nothing after the cancel but progress sent before it.
    expect((await fetch(h.url, { method: "DELETE", headers: s.headers() })).status).toBe(200);
    const rest = (await reader.rest()).filter((e) => e.data !== "");
    expect(
      rest.every((e) => (JSON.parse(e.data) as { method?: string }).method === "notifications/progress"),
    ).toBe(true);
    controller.abort();
  });

  it("cancels for the SDK client too", async () => {
    const client = await h.connect();
    const before = await stats();
    const controller = new AbortController();
    const pending = client.callTool({ name: "fault_hang", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await started("hang", before);
    controller.abort("user pressed stop");
    await expect(pending).rejects.toThrow();
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    expect(text(await client.callTool({ name: "fault_echo", arguments: { message: "still fine" } }))).toBe(
      "still fine",
    );
  });

  it("routes sampling and elicitation to the calling session's stream", async () => {
    const client = await h.connect(FULL_CLIENT_CAPS);
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      model: "m",
      role: "assistant",
      content: { type: "text", text: "sampled-over-http" },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { name: "Ada" },
    }));
    await waitFor(async () =>
      (await client.listTools()).tools.some((t) => t.name === "everything_trigger-sampling-request"),
    );
    const sampled = await client.callTool({
      name: "everything_trigger-sampling-request",
      arguments: { prompt: "x", maxTokens: 5 },
    });
    expect(JSON.stringify(sampled)).toContain("sampled-over-http");
    const elicited = await client.callTool({ name: "everything_trigger-elicitation-request", arguments: {} });
    expect(JSON.stringify(elicited)).toContain("Ada");

    // On the wire: the request arrives on the call's own POST stream; the answer is POSTed back.
    const s = await RawSession.open(h.url, { sampling: {} });
    const res = await s.call(40, "everything_trigger-sampling-request", { prompt: "y", maxTokens: 5 });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = new SseReader(res);
    const seen = await reader.until((m) => m["method"] === "sampling/createMessage");
    const request = JSON.parse(seen[seen.length - 1]?.data ?? "{}") as { id: number };
    const answered = await s.post({
      jsonrpc: "2.0",
      id: request.id,
      result: { model: "m", role: "assistant", content: { type: "text", text: "raw-answer" } },
    });
    expect(answered.status).toBe(202);
    const rest = await reader.until((m) => m["id"] === 40);
    expect(rest[rest.length - 1]?.data).toContain("raw-answer");
    expect(await reader.next()).toBeUndefined();
  });

  it("resumes a dropped SSE stream with Last-Event-ID, while the call runs and after it ended", async () => {
    const controller = new AbortController();
    const res = await raw.post(
      {
        jsonrpc: "2.0",
        id: 60,
        method: "tools/call",
        params: {
          name: "fault_progress",
          arguments: { steps: 4, delayMs: 250 },
          _meta: { progressToken: "r" },
        },
      },
      {},
      controller.signal,
    );
    const reader = new SseReader(res);
    const first = await reader.until((m) => m["method"] === "notifications/progress");
    const priming = first[0]?.id ?? "";
    const lastSeen = first[first.length - 1]?.id ?? "";
    controller.abort();

    // Until the server has seen the old connection close, a resume gets 409 (as with the SDK).
    let resumed: Response;
    for (;;) {
      resumed = await fetch(h.url, {
        headers: { ...raw.headers(), accept: "text/event-stream", "last-event-id": lastSeen },
      });
      if (resumed.status !== 409) break;
      await resumed.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get("content-type")).toBe("text/event-stream");
    const rest = sseMessages(await resumed.text());
    expect(rest.map((m) => (m["params"] as { progress?: number } | undefined)?.progress ?? "result")).toEqual(
      [2, 3, 4, "result"],
    );
    expect(rest[3]).toMatchObject({ id: 60, result: { content: [{ text: "progressed 4" }] } });

    // After the call: the SDK replays the stored stream (and keeps it open, as it does).
    const late = new AbortController();
    const replay = await fetch(h.url, {
      headers: { ...raw.headers(), accept: "text/event-stream", "last-event-id": priming },
      signal: late.signal,
    });
    const replayed = await new SseReader(replay).until((m) => m["id"] === 60);
    expect(replayed.filter((e) => e.data.includes("notifications/progress"))).toHaveLength(4);
    late.abort();
  });

  /** A slow call on its own session, dropped by its client once the downstream runs it. */
  async function dropSlowCall(version: string, id: number): Promise<Stats> {
    const s = await RawSession.open(h.url, {}, version);
    const before = await stats();
    const controller = new AbortController();
    const pending = s.post(
      { jsonrpc: "2.0", id, method: "tools/call", params: { name: "fault_slow", arguments: { ms: 60_000 } } },
      {},
      controller.signal,
    );
    await started("slow", before);
    if (version >= "2025-11-25") {
      // Resumable once its stream is there: the SDK's stream, priming event first, comes when the call is
      // still running after the JSON window (before that, nothing was sent: nothing to resume from).
      const res = await pending;
      expect(res.headers.get("content-type")).toBe("text/event-stream");
      const first = await res.body?.getReader().read();
      expect(new TextDecoder().decode(first?.value)).toContain("retry:");
    }
    controller.abort();
    await pending.then((r) => r.text()).catch(() => undefined);
    return before;
  }

  it("cancels a call whose client went away, at once when it cannot resume (before 2025-11-25)", async () => {
    const before = await dropSlowCall("2025-06-18", 70);
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const after = await stats();
    expect(after.cancellations.slice(before.cancellations.length)).toEqual([
      { requestId: expect.anything(), reason: "the client closed its HTTP request before the answer" },
    ]);
  });

  it("cancels a call whose resumable stream was dropped and not resumed within http.resumeGraceMs", async () => {
    const before = await dropSlowCall("2025-11-25", 71);
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length, GRACE_MS + 10_000);
    const after = await stats();
    expect(after.cancellations.slice(before.cancellations.length)).toEqual([
      {
        requestId: expect.anything(),
        reason: `the client closed the request's event stream and did not resume it within ${GRACE_MS} ms`,
      },
    ]);
  });

  it("ends a running call's POST and cancels it when the session is deleted", async () => {
    const s = await RawSession.open(h.url);
    const before = await stats();
    const pending = s.call(80, "fault_hang");
    await started("hang", before);
    const del = await fetch(h.url, { method: "DELETE", headers: s.headers() });
    expect(del.status).toBe(200);
    const res = await pending;
    const events = parseSse(await res.text());
    expect(events.filter((e) => e.data !== "")).toEqual([]); // the priming event only: no answer
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const after = await s.call(81, "fault_echo", { message: "x" });
    expect(after.status).toBe(404);
  });
});
