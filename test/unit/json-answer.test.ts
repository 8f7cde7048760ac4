import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it } from "vitest";
import { JsonAnswers } from "../../src/front/jsonAnswer.js";
import { mountOnNode } from "../../src/front/nodeMount.js";

const encoder = new TextEncoder();
const answer: JSONRPCMessage = {
  jsonrpc: "2.0",
  id: 1,
  result: { content: [{ type: "text", text: "ünï" }] },
};

/** What the SDK's session transport returns for a POST: an event stream with its priming event. */
function sdkStream(): { response: Response; cancelled: () => boolean; push: (text: string) => void } {
  let cancelled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(encoder.encode("id: p\nretry: 1000\ndata: \n\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    response: new Response(body, {
      headers: { "content-type": "text/event-stream", "mcp-session-id": "s-1" },
    }),
    cancelled: () => cancelled,
    push: (text) => {
      controller.enqueue(encoder.encode(text));
      if (text.includes('"result"')) controller.close();
    },
  };
}

let open: Server | undefined;
afterEach(() => {
  open?.closeAllConnections();
  open?.close();
  open = undefined;
});

/** One POST through mountOnNode to `json.answer`, with `during` run once the SDK's response exists. */
async function post(
  json: JsonAnswers,
  stream: ReturnType<typeof sdkStream>,
  during: () => void,
): Promise<globalThis.Response> {
  const mount = mountOnNode(
    (_request, _context, res: ServerResponse) =>
      json.answer(
        1,
        async () => {
          setImmediate(during); // the server's messages come after the SDK has answered the POST
          return stream.response;
        },
        res,
      ),
    () => undefined,
  );
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => void mount(req, res, { jsonrpc: "2.0", id: 1, method: "tools/call" }));
  });
  open = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: "POST", body: "{}" });
}

describe("JsonAnswers (2025 POSTs as JSON unless something must stream)", () => {
  it("takes a POST of one request without a progress token, nothing else", () => {
    const json = new JsonAnswers();
    const req = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "x" },
      ...extra,
    });
    expect(json.eligible(req())).toBe(5);
    expect(json.eligible(req({ id: "a" }))).toBe("a");
    expect(json.eligible([req()])).toBeUndefined(); // a batch
    expect(json.eligible({ jsonrpc: "2.0", method: "notifications/x" })).toBeUndefined();
    expect(json.eligible(req({ method: "initialize" }))).toBeUndefined();
    expect(json.eligible(req({ params: { name: "x", _meta: { progressToken: 1 } } }))).toBeUndefined();
    expect(json.eligible(req({ id: 1.5 }))).toBeUndefined();
  });

  it("tells a POST still waiting (nothing sent on it: nothing to resume from) from a decided one", async () => {
    const json = new JsonAnswers(60_000); // a window no slow machine reaches
    expect(json.undecided(1)).toBe(false); // not watched
    const stream = sdkStream();
    let during: boolean | undefined;
    let after: boolean | undefined;
    const res = await post(json, stream, () => {
      during = json.undecided(1);
      json.note(answer);
      after = json.undecided(1);
    });
    await res.text();
    expect([during, after, json.undecided(1)]).toEqual([true, false, false]);
  });

  it("answers as JSON when the answer is the first message, cancelling the SDK's stream", async () => {
    const json = new JsonAnswers(60_000);
    const stream = sdkStream();
    const res = await post(json, stream, () => json.note(answer));
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("mcp-session-id")).toBe("s-1");
    const text = await res.text();
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual(answer);
    expect(stream.cancelled()).toBe(true);
  });

  it("streams when something else is sent for the request first: every event, the answer last", async () => {
    const json = new JsonAnswers(60_000);
    const stream = sdkStream();
    const elicit = { jsonrpc: "2.0", id: 0, method: "elicitation/create", params: {} } as JSONRPCMessage;
    const res = await post(json, stream, () => {
      json.note(elicit, { relatedRequestId: 1 });
      stream.push(`event: message\ndata: ${JSON.stringify(elicit)}\n\n`);
      json.note(answer); // too late: the stream is on its way
      stream.push(`event: message\ndata: ${JSON.stringify(answer)}\n\n`);
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const text = await res.text();
    expect(text.startsWith("id: p\n")).toBe(true);
    expect(text.indexOf("elicitation/create")).toBeLessThan(text.indexOf('"result"'));
    expect(stream.cancelled()).toBe(false);
  });

  it("streams when the answer has not come within the window", async () => {
    const json = new JsonAnswers(1);
    const stream = sdkStream();
    // Nothing is noted for the request: the window closes and the SDK's stream goes out as it is.
    const res = await post(json, stream, () => undefined);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain("retry: 1000");
    stream.push(`event: message\ndata: ${JSON.stringify(answer)}\n\n`);
    const rest = await new Response(
      new ReadableStream({
        async pull(c) {
          const next = await reader?.read();
          if (!next || next.done) c.close();
          else c.enqueue(next.value);
        },
      }),
    ).text();
    expect(JSON.parse(rest.split("data: ")[1] ?? "")).toEqual(answer);
  });
});
