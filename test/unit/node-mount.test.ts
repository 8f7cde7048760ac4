import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { mountOnNode, type WebHandler, type WebHandlerContext } from "../../src/front/nodeMount.js";

/** A real http server whose every request is mounted with `handler` (the body parsed first, as the front does). */
async function serve(handler: WebHandler, errors: Error[] = []): Promise<{ url: string; server: Server }> {
  const mount = mountOnNode(handler, (e) => errors.push(e));
  const server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (text += c));
    req.on("end", () => {
      (req as IncomingMessage & { auth?: unknown }).auth = { token: "", clientId: "p1", scopes: [] };
      void mount(req, res, text ? JSON.parse(text) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

let open: Server | undefined;
afterEach(() => {
  open?.closeAllConnections();
  open?.close();
  open = undefined;
});

describe("mountOnNode (both eras of the HTTP front on Node's http)", () => {
  it("hands the front's parsed body and the request's auth to the handler", async () => {
    const seen: WebHandlerContext[] = [];
    const { url, server } = await serve(async (_request, context) => {
      seen.push(context);
      return Response.json({ ok: true });
    });
    open = server;
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "x" }),
    });
    expect(await res.json()).toEqual({ ok: true });
    expect(seen[0]?.parsedBody).toEqual({ jsonrpc: "2.0", id: 1, method: "x" });
    expect(seen[0]?.authInfo?.clientId).toBe("p1");
  });

  it("answers a handler that throws with 500 and a JSON-RPC error carrying the request's id", async () => {
    const errors: Error[] = [];
    const { url, server } = await serve(async () => {
      throw new Error("boom");
    }, errors);
    open = server;
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "x" }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      error: { code: -32603, message: "Internal server error" },
      id: 7,
    });
    expect(errors.map((e) => e.message)).toEqual(["boom"]);
  });

  it("sends an event stream's head and each event at once, chunked, while the stream stays open", async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const { url, server } = await serve(
      async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              controller = c;
              c.enqueue(new TextEncoder().encode("data: first\n\n"));
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    open = server;
    // The stream never ends here: its head and first event must arrive all the same.
    const { headers, first } = await new Promise<{ headers: IncomingMessage["headers"]; first: string }>(
      (resolve, reject) => {
        const req = request(url, { method: "GET" }, (res) => {
          res.setEncoding("utf8");
          res.once("data", (chunk: string) => resolve({ headers: res.headers, first: chunk }));
        });
        req.on("error", reject);
        req.end();
      },
    );
    expect(headers["content-type"]).toBe("text/event-stream");
    expect(headers["transfer-encoding"]).toBe("chunked");
    expect(first).toBe("data: first\n\n");
    controller.close();
  });

  it("streams a short event stream as it comes (no waiting for its end to give it a Content-Length)", async () => {
    const { url, server } = await serve(
      async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new TextEncoder().encode("data: only\n\n"));
              setImmediate(() => c.close()); // ends a moment later, as an SDK answer stream does
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    open = server;
    const res = await fetch(url);
    expect(await res.text()).toBe("data: only\n\n");
    // Held back until its end, the listener would have sent it with a Content-Length instead.
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
  });

  it("sends the head of an event stream that has no event yet", async () => {
    const { url, server } = await serve(
      async () =>
        new Response(new ReadableStream<Uint8Array>({ start: () => undefined }), {
          headers: { "content-type": "text/event-stream" },
        }),
    );
    open = server;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: "GET" }, (res) => resolve(res.statusCode ?? 0));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
  });
});
