import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderedTransport } from "../../../src/downstream/ordering.js";
import { sizeLimitedFetch } from "../../../src/downstream/sizeLimitedFetch.js";
import { REJECTED_KEY } from "../../../src/jsonrpc/rejected.js";

/** A real HTTP server answering every POST with `size` bytes of JSON. */
describe("remote downstreams: size and depth bounds (issue #14)", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const text = `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"${"x".repeat(5_000)}"}]}}`;
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "s1" });
      res.end(text);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("a JSON answer over maxResultBytes becomes a 'too large' error for each request id, unread", async () => {
    const res = await sizeLimitedFetch(1_000)(url, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "t" } }),
    });
    expect(res.headers.get("mcp-session-id")).toBe("s1");
    const body = (await res.json()) as { id: number; error: { code: number; data: Record<string, unknown> } };
    expect(body).toMatchObject({ id: 5, error: { code: -32603, data: { [REJECTED_KEY]: "tooLarge" } } });
    expect(String(body.error.data["detail"])).toMatch(
      /^returned more than 1000 bytes, over the limit of 1000 bytes \(maxResultBytes\)/,
    );
  });

  it("an answer under the limit passes untouched", async () => {
    const res = await sizeLimitedFetch(1_000_000)(url, { method: "POST", body: "{}" });
    expect(((await res.json()) as { id: number }).id).toBe(5);
  });

  it("a message nested too deep fails its own request; other messages pass", () => {
    const inner: Transport = {
      start: () => Promise.resolve(),
      send: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const outer = new OrderedTransport(inner, 32);
    const seen: JSONRPCMessage[] = [];
    const errors: string[] = [];
    outer.onmessage = (m) => seen.push(m);
    outer.onerror = (e) => errors.push(e.message);
    let deep: unknown = [];
    for (let i = 0; i < 100; i++) deep = [deep];
    inner.onmessage?.({ jsonrpc: "2.0", id: 1, result: { deep } } as unknown as JSONRPCMessage);
    inner.onmessage?.({
      jsonrpc: "2.0",
      method: "notifications/x",
      params: { deep },
    } as unknown as JSONRPCMessage);
    inner.onmessage?.({ jsonrpc: "2.0", method: "notifications/y", params: {} } as JSONRPCMessage);
    return new Promise<void>((resolve) =>
      queueMicrotask(() => {
        expect(seen).toEqual([
          { jsonrpc: "2.0", method: "notifications/y", params: {} },
          expect.objectContaining({
            id: 1,
            error: expect.objectContaining({ data: expect.objectContaining({ [REJECTED_KEY]: "tooDeep" }) }),
          }),
        ]);
        expect(errors).toHaveLength(2);
        resolve();
      }),
    );
  });
});
