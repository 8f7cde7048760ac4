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

/**
 * The HTTP front answers one tools/call per POST itself (src/front/httpFastPath.ts): plain JSON when
 * only the result goes out, the SDK's SSE stream when something must precede it. Everything else is
 * the SDK transport's. Checked with raw fetch (what goes over the wire) and with the SDK client.
 */

interface SseEvent {
  id?: string;
  event?: string;
  retry?: number;
  data: string;
}

function parseEvent(block: string): SseEvent {
  const event: SseEvent = { data: "" };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "retry") event.retry = Number(value);
    else if (field === "data") data.push(value);
  }
  event.data = data.join("\n");
  return event;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim() !== "" && !b.split("\n").every((l) => l.startsWith(":")))
    .map(parseEvent);
}

/** Reads SSE events as they arrive. */
class SseReader {
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    if (!res.body) throw new Error("no body");
    this.reader = res.body.getReader();
  }

  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const at = this.buffer.indexOf("\n\n");
      if (at !== -1) {
        const block = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        if (block.split("\n").every((l) => l.startsWith(":"))) continue;
        return parseEvent(block);
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async until(pred: (message: Record<string, unknown>) => boolean): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (;;) {
      const e = await this.next();
      if (!e) throw new Error(`stream ended; saw ${JSON.stringify(seen)}`);
      seen.push(e);
      if (e.data && pred(JSON.parse(e.data) as Record<string, unknown>)) return seen;
    }
  }
}

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

/** The JSON-RPC answer of a POST, whether it came as JSON or as an SSE stream. */
async function answer(res: Response): Promise<Record<string, unknown>> {
  const body = await res.text();
  if (res.headers.get("content-type") === "application/json")
    return JSON.parse(body) as Record<string, unknown>;
  const last = parseSse(body)
    .filter((e) => e.data)
    .pop();
  return JSON.parse(last?.data ?? "{}") as Record<string, unknown>;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

interface Stats {
  calls: Record<string, number>;
  cancelled: unknown[];
  aborted: unknown[];
}

describe("HTTP front: tools/call fast path", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let raw: RawSession;
  let nextId = 100;

  const stats = async (): Promise<Stats> => {
    const body = await answer(await raw.call(nextId++, "fault_stats"));
    return JSON.parse(text(body["result"])) as Stats;
  };

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      // fault: one connection for every session (the tests read its stats from another session);
      // everything: per-client by default, so sampling and elicitation reach the calling session.
      mcpServers: {
        fault: { ...faultServerEntry("normal"), sessionMode: "shared" },
        everything: everythingEntry(),
      },
    });
    h = await startHttp(config);
    raw = await RawSession.open(h.url);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers a plain call with application/json", async () => {
    const res = await raw.call(1, "fault_echo", { message: "plain" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("mcp-session-id")).toBe(raw.sessionId);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: 1,
      result: { content: [{ type: "text", text: "plain" }] },
    });
    const byString = await raw.call("call-a", "fault_echo", { message: "string id" });
    expect(await byString.json()).toMatchObject({
      id: "call-a",
      result: { content: [{ text: "string id" }] },
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
    expect(events.map((e) => (JSON.parse(e.data) as { method?: string }).method ?? "result")).toEqual([
      "notifications/progress",
      "result",
    ]);
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

  it("answers tool errors as before: isError results and JSON-RPC errors", async () => {
    const failed = await raw.call(4, "fault_fail_tool");
    expect(failed.headers.get("content-type")).toBe("application/json");
    expect(await answer(failed)).toEqual({
      jsonrpc: "2.0",
      id: 4,
      result: { isError: true, content: [{ type: "text", text: "tool failed on purpose" }] },
    });
    const invalid = await answer(await raw.call(5, "fault_echo", {}));
    expect(invalid).toMatchObject({ id: 5, result: { isError: true } });
    expect(text(invalid["result"])).toContain("Invalid arguments for fault_echo");
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

  it("leaves malformed requests to the SDK: same statuses and errors as before", async () => {
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
    // The SDK would answer this -32700 without the id; the front answers -32600 with it (issue #14).
    expect(extraMember.status).toBe(400);
    expect(await extraMember.json()).toMatchObject({
      id: 8,
      error: { code: -32600, message: "Invalid Request: not a valid request" },
    });

    // Malformed tools/call params: -32602 with the id, as on every front (src/jsonrpc/toolCallParams.ts).
    for (const [params, why] of [
      [{ arguments: { message: "no name" } }, "tools/call needs a string name, got undefined"],
      [{ name: "fault_echo", arguments: [1] }, "arguments of fault_echo must be an object, got an array"],
    ] as const) {
      const res = await raw.post({ jsonrpc: "2.0", id: 9, method: "tools/call", params });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        id: 9,
        error: { code: -32602, message: `Invalid params: ${why}` },
      });
    }

    const version = await raw.call(10, "fault_echo", { message: "x" });
    expect(version.status).toBe(200);
    const badVersion = await raw.post(
      { jsonrpc: "2.0", id: 10, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { "mcp-protocol-version": "1999-01-01" },
    );
    expect(badVersion.status).toBe(400);
    const accept = await raw.post(
      { jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { accept: "application/json" },
    );
    expect(accept.status).toBe(406);
    const type = await raw.post(
      { jsonrpc: "2.0", id: 12, method: "tools/call", params: { name: "fault_echo", arguments: {} } },
      { "content-type": "text/plain" },
    );
    expect(type.status).toBe(415);
    // Two Content-Type lines: Node keeps the first, the SDK sees both and refuses; so does the fast path.
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
        JSON.stringify({ jsonrpc: "2.0", id: 13, method: "tools/call", params: { name: "fault_echo" } }),
      );
    });
    expect(twice).toBe(415);
  });

  it("keeps batches on the SDK path (one SSE answer for both calls)", async () => {
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
    const ids = parseSse(await res.text())
      .filter((e) => e.data)
      .map((e) => (JSON.parse(e.data) as { id: number }).id)
      .sort();
    expect(ids).toEqual([21, 22]);
  });

  it("aborts a call on notifications/cancelled: no result, an empty stream, the downstream cancelled", async () => {
    const before = await stats();
    const pending = raw.call(30, "fault_hang");
    await waitFor(async () => ((await stats()).calls["hang"] ?? 0) > (before.calls["hang"] ?? 0));
    const ack = await raw.post({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 30, reason: "stop" },
    });
    expect(ack.status).toBe(202);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toBe("");
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
  });

  it("after progress, a cancelled call's stream gets no result and stays open (as the SDK leaves it)", async () => {
    const before = await stats();
    const controller = new AbortController();
    const res = await raw.post(
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
    await raw.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 31 } });
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const next = await Promise.race([
      reader
        .until((m) => m["id"] === 31)
        .then(
          () => "result",
          () => "ended",
        ),
      new Promise((r) => setTimeout(() => r("still open"), 300)),
    ]);
    expect(next).toBe("still open");
    controller.abort();
  });

  it("cancels for the SDK client too", async () => {
    const client = await h.connect();
    const before = await stats();
    const controller = new AbortController();
    const pending = client.callTool({ name: "fault_hang", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await waitFor(async () => ((await stats()).calls["hang"] ?? 0) > (before.calls["hang"] ?? 0));
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
      content: { type: "text", text: "sampled-over-fast-path" },
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
    expect(JSON.stringify(sampled)).toContain("sampled-over-fast-path");
    const elicited = await client.callTool({ name: "everything_trigger-elicitation-request", arguments: {} });
    expect(JSON.stringify(elicited)).toContain("Ada");

    // On the wire: the request arrives on the call's own POST stream; the answer is POSTed back.
    const s = await RawSession.open(h.url, { sampling: {} });
    const res = await s.call(40, "everything_trigger-sampling-request", { prompt: "y", maxTokens: 5 });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = new SseReader(res);
    const seen = await reader.until((m) => m["method"] === "sampling/createMessage");
    const request = JSON.parse(seen[seen.length - 1]?.data ?? "{}") as { id: number };
    const answer = await s.post({
      jsonrpc: "2.0",
      id: request.id,
      result: { model: "m", role: "assistant", content: { type: "text", text: "raw-answer" } },
    });
    expect(answer.status).toBe(202);
    const rest = await reader.until((m) => m["id"] === 40);
    expect(rest[rest.length - 1]?.data).toContain("raw-answer");
    expect(await reader.next()).toBeUndefined();
  });

  it("switches a call running over a second to SSE with a priming event", async () => {
    const res = await raw.call(50, "fault_slow", { ms: 2_200 });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = parseSse(await res.text());
    expect(events[0]).toMatchObject({ data: "", retry: 1000 });
    expect(JSON.parse(events[events.length - 1]?.data ?? "{}")).toMatchObject({
      id: 50,
      result: { content: [{ text: "done" }] },
    });
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
    const rest = parseSse(await resumed.text()).map((e) => JSON.parse(e.data) as Record<string, unknown>);
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

  it("cancels a call whose client went away before its answer (docs/resilience.md)", async () => {
    const before = await stats();
    const controller = new AbortController();
    const pending = raw.post(
      {
        jsonrpc: "2.0",
        id: 70,
        method: "tools/call",
        params: { name: "fault_slow", arguments: { ms: 60_000 } },
      },
      {},
      controller.signal,
    );
    await waitFor(async () => ((await stats()).calls["slow"] ?? 0) > (before.calls["slow"] ?? 0));
    controller.abort();
    // Nothing was sent yet: the client holds no event id to resume with, so the call is cancelled at once.
    await pending.then((r) => r.text()).catch(() => undefined);
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const after = await stats();
    expect(after.cancelled.length).toBe(before.cancelled.length + 1);
  });

  it("ends a running call's POST and cancels it when the session is deleted", async () => {
    const s = await RawSession.open(h.url);
    const before = await stats();
    const pending = s.call(80, "fault_hang");
    await waitFor(async () => ((await stats()).calls["hang"] ?? 0) > (before.calls["hang"] ?? 0));
    const del = await fetch(h.url, { method: "DELETE", headers: s.headers() });
    expect(del.status).toBe(200);
    const res = await pending;
    expect(await res.text()).toBe("");
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length);
    const after = await s.call(81, "fault_echo", { message: "x" });
    expect(after.status).toBe(404);
  });
});
