import { request, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { answerOf, parseSse } from "../helpers/sse.js";
import { JSON_ANSWER_WINDOW_MS } from "../../src/front/jsonAnswer.js";

/**
 * How the HTTP front reads requests and how the tools/call answer goes out: bodies read with
 * 'data'/'end' listeners (one chunk or many, with or without Content-Length, over the limit, cut off),
 * the MCP path recognised without a URL parser only when it is exactly the path, the remembered Host
 * header, and the answer as the SDK session transport's event stream (refusals before it are JSON).
 */

const ACCEPT = "application/json, text/event-stream";
const LIMIT = 4096;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The JSON-RPC answer in a raw response (the SSE stream's last message, or a JSON refusal). */
const rpc = (res: Answer): Record<string, unknown> => answerOf(res.headers["content-type"], res.body);

/** A POST whose body goes out as the given chunks (chunked transfer encoding unless a length is set). */
function post(url: string, headers: Record<string, string>, chunks: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT, ...headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    const write = (i: number): void => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i]);
      // Separate writes a turn apart, so the server reads them as separate chunks.
      setTimeout(() => write(i + 1), 5);
    };
    write(0);
  });
}

function split(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe("HTTP front: request bodies, paths and the answer's framing", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let sessionId: string;
  let host: string;

  const session = (extra: Record<string, string> = {}): Record<string, string> => ({
    "mcp-session-id": sessionId,
    "mcp-protocol-version": "2025-11-25",
    ...extra,
  });
  const call = (id: number, message: string): string =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "fault_echo", arguments: { message } },
    });

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      // One connection for every session: these tests are about the HTTP front, not per-client isolation.
      mcpServers: { fault: { ...faultServerEntry("normal"), sessionMode: "shared" } },
      http: { maxBodyBytes: LIMIT },
    });
    h = await startHttp(config);
    host = new URL(h.url).host;
    const init = await post(h.url, {}, [
      JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    ]);
    sessionId = init.headers["mcp-session-id"] as string;
    expect(sessionId).toBeTruthy();
    const ack = await post(h.url, session(), [
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    ]);
    expect(ack.status).toBe(202);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers a call whose body arrives in several chunks, without Content-Length", async () => {
    const body = call(1, "in pieces");
    const res = await post(h.url, session(), split(body, 4));
    expect(res.status).toBe(200);
    expect(rpc(res)).toEqual({
      jsonrpc: "2.0",
      id: 1,
      result: { content: [{ type: "text", text: "in pieces" }] },
    });
  });

  it("decodes a multi-byte character split across chunks", async () => {
    const body = Buffer.from(call(2, "héllo ✓"), "utf8");
    const cut = body.indexOf(Buffer.from("✓", "utf8")) + 1; // inside the three bytes of ✓
    const res = await new Promise<Answer>((resolve, reject) => {
      const req = request(
        h.url,
        { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT, ...session() } },
        (r) => {
          let data = "";
          r.setEncoding("utf8");
          r.on("data", (c: string) => (data += c));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: data }));
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, cut));
      setTimeout(() => req.end(body.subarray(cut)), 5);
    });
    expect(rpc(res)).toMatchObject({ id: 2, result: { content: [{ text: "héllo ✓" }] } });
  });

  it("writes a quick answer as one JSON body: its length, the session id, multi-byte text whole", async () => {
    // Quick: answered within the JSON window (a loaded machine may take longer once: then it streams).
    let id = 2;
    let res!: Answer;
    await waitFor(async () => {
      res = await post(h.url, session(), [call(++id, "ünïcödé ✓✓")]);
      return res.headers["content-type"] === "application/json";
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(res.body)));
    expect(res.headers["mcp-session-id"]).toBe(sessionId);
    expect(JSON.parse(res.body)).toEqual({
      jsonrpc: "2.0",
      id,
      result: { content: [{ type: "text", text: "ünïcödé ✓✓" }] },
    });
  });

  it("writes an answer still running after the JSON window as an event stream: SSE headers, priming event, then the answer", async () => {
    const slow = JSON.stringify({
      jsonrpc: "2.0",
      id: 6,
      method: "tools/call",
      params: { name: "fault_slow", arguments: { ms: JSON_ANSWER_WINDOW_MS + 150 } },
    });
    const res = await post(h.url, session(), [slow]);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.headers["cache-control"]).toContain("no-cache"); // no proxy may hold it back
    expect(res.headers["content-length"]).toBeUndefined(); // a stream: its length is not known up front
    expect(res.headers["mcp-session-id"]).toBe(sessionId);
    // Every event ends with a blank line; nothing trails the last one.
    expect(res.body.endsWith("\n\n")).toBe(true);
    const events = parseSse(res.body);
    expect(events).toHaveLength(2);
    const [priming, message] = events;
    // Protocol 2025-11-25: a priming event (an id to resume from, a retry hint, no data) comes first.
    expect(priming).toMatchObject({ data: "", retry: 1000 });
    expect(priming?.id).toBeTruthy();
    expect(message?.event).toBe("message");
    expect(message?.id).toBeTruthy();
    expect(message?.id).not.toBe(priming?.id);
    expect(JSON.parse(message?.data ?? "")).toEqual({
      jsonrpc: "2.0",
      id: 6,
      result: { content: [{ type: "text", text: "done" }] },
    });
  });

  it("refuses a chunked body that grows over the limit with 413, and keeps serving", async () => {
    const big = call(4, "x".repeat(LIMIT));
    const res = await post(h.url, session(), split(big, 3));
    expect(res.status).toBe(413);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: -32000 } });
    const after = await post(h.url, session(), [call(5, "still here")]);
    expect(rpc(after)).toMatchObject({ id: 5, result: { content: [{ text: "still here" }] } });
  });

  it("answers a body that is not JSON with a parse error", async () => {
    const res = await post(h.url, session(), ['{"jsonrpc": "2.0", ', "not json"]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: -32700 } });
  });

  it("survives a client that goes away in the middle of a body", async () => {
    await new Promise<void>((resolve) => {
      const req = request(h.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: ACCEPT,
          "content-length": "500",
          ...session(),
        },
      });
      req.on("error", () => resolve());
      req.write('{"jsonrpc": "2.0", "id": 6, ');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    const after = await post(h.url, session(), [call(7, "after the abort")]);
    expect(rpc(after)).toMatchObject({
      id: 7,
      result: { content: [{ text: "after the abort" }] },
    });
    expect(h.child.exitCode).toBeNull();
  });

  it("serves the MCP path with a query string or a dot segment, and nothing else", async () => {
    const q = await post(`${h.url}?trace=1`, session(), [call(8, "query")]);
    expect(rpc(q)).toMatchObject({ id: 8, result: { content: [{ text: "query" }] } });
    const dots = await post(h.url.replace(/\/mcp$/, "/x/../mcp"), session(), [call(9, "dots")]);
    expect(rpc(dots)).toMatchObject({ id: 9, result: { content: [{ text: "dots" }] } });
    for (const other of ["/mcp/", "/MCP", "/mcpx", "/"]) {
      const res = await post(h.url.replace(/\/mcp$/, other), session(), [call(10, "no")]);
      expect(res.status, other).toBe(404);
    }
  });

  it("checks every Host header, also after a good one was seen", async () => {
    const good = await post(h.url, session({ host }), [call(11, "good host")]);
    expect(good.status).toBe(200);
    const evil = await post(h.url, session({ host: "evil.example.com" }), [call(12, "evil")]);
    expect(evil.status).toBe(403);
    const evilPort = await post(h.url, session({ host: `evil.example.com:${new URL(h.url).port}` }), [
      call(13, "evil"),
    ]);
    expect(evilPort.status).toBe(403);
    const again = await post(h.url, session({ host }), [call(14, "good again")]);
    expect(rpc(again)).toMatchObject({ id: 14, result: { content: [{ text: "good again" }] } });
  });
});
