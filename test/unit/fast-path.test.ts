import { describe, expect, it, vi } from "vitest";
import type { CallToolResult, JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { FastToolCalls } from "../../src/front/fastPath.js";
import type { CallOrigin, FrontBackend } from "../../src/front/backend.js";
import type { FrontSession } from "../../src/front/session.js";
import { wireError } from "../../src/errors.js";

function harness(
  callTool: (name: string, args: Record<string, unknown>, origin: CallOrigin) => Promise<CallToolResult>,
  initialized = true,
) {
  const sent: JSONRPCMessage[] = [];
  const session = {
    id: "s",
    clientCapabilities: () => (initialized ? {} : undefined),
    server: {},
  } as unknown as FrontSession;
  const backend = { callTool } as unknown as FrontBackend;
  const fast = new FastToolCalls(session, backend, async (m) => void sent.push(m));
  return { fast, sent };
}

const call = (id: number, params: unknown): JSONRPCMessage =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params }) as JSONRPCMessage;
const settle = () => new Promise((r) => setTimeout(r, 10));

describe("stdio fast path for tools/call", () => {
  it("answers a call with the backend's result, and an error with its JSON-RPC code", async () => {
    const { fast, sent } = harness(async (name) => {
      if (name === "nope") throw wireError(-32602, "Unknown tool: nope");
      return { content: [{ type: "text", text: `ran ${name}` }] };
    });
    expect(fast.handle(call(1, { name: "a", arguments: { x: 1 } }))).toBe(true);
    expect(fast.handle(call(2, { name: "nope" }))).toBe(true);
    await settle();
    expect(sent).toContainEqual({
      jsonrpc: "2.0",
      id: 1,
      result: { content: [{ type: "text", text: "ran a" }] },
    });
    expect(sent).toContainEqual({
      jsonrpc: "2.0",
      id: 2,
      error: { code: -32602, message: "Unknown tool: nope" },
    });
  });

  it("leaves malformed or unusual requests, and anything before initialize, to the SDK", () => {
    const { fast } = harness(async () => ({ content: [] }));
    expect(fast.handle(call(1, { arguments: {} }))).toBe(false);
    expect(fast.handle(call(2, { name: "a", arguments: "nope" }))).toBe(false);
    expect(fast.handle(call(3, { name: "a", task: { ttl: 1 } }))).toBe(false);
    expect(fast.handle({ jsonrpc: "2.0", id: 4, method: "tools/list" } as JSONRPCMessage)).toBe(false);
    expect(fast.handle({ jsonrpc: "2.0", id: 5, result: {} } as JSONRPCMessage)).toBe(false);
    const early = harness(async () => ({ content: [] }), false);
    expect(early.fast.handle(call(6, { name: "a" }))).toBe(false);
  });

  it("aborts a cancelled call and sends it no answer; other cancellations go to the SDK", async () => {
    let seen: AbortSignal | undefined;
    const { fast, sent } = harness(
      (_name, _args, origin) =>
        new Promise((_resolve, reject) => {
          seen = origin.signal;
          origin.signal.addEventListener("abort", () => reject(new Error("aborted")));
        }),
    );
    fast.handle(call(7, { name: "slow" }));
    expect(
      fast.handle({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 99 },
      } as JSONRPCMessage),
    ).toBe(false);
    expect(
      fast.handle({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 7, reason: "stop" },
      } as JSONRPCMessage),
    ).toBe(true);
    await settle();
    expect(seen?.aborted).toBe(true);
    expect(sent).toEqual([]);
  });

  it("sends progress under the client's token, before the result", async () => {
    const { fast, sent } = harness(async (_name, _args, origin) => {
      origin.sendProgress?.(1, 2);
      origin.sendProgress?.(2, 2, "done");
      return { content: [] };
    });
    fast.handle(call(8, { name: "p", _meta: { progressToken: "tok" } }));
    await settle();
    expect(
      sent.map((m) => ("method" in m ? m.method : `result ${String((m as { id: number }).id)}`)),
    ).toEqual(["notifications/progress", "notifications/progress", "result 8"]);
    expect((sent[1] as { params: unknown }).params).toEqual({
      progressToken: "tok",
      progress: 2,
      total: 2,
      message: "done",
    });
  });

  it("a reused id of a call in flight: the first call's answer leaves the second cancellable (issue #15)", async () => {
    let finishFirst: (r: CallToolResult) => void = () => undefined;
    const signals: AbortSignal[] = [];
    const { fast, sent } = harness((name, _args, origin) => {
      signals.push(origin.signal);
      if (name === "first") return new Promise((resolve) => (finishFirst = resolve));
      return new Promise(() => undefined);
    });
    expect(fast.handle(call(5, { name: "first" }))).toBe(true);
    expect(fast.handle(call(5, { name: "second" }))).toBe(true);
    finishFirst({ content: [] });
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(fast.inFlight).toBe(1);
    const cancel = { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 5 } };
    expect(fast.handle(cancel as JSONRPCMessage)).toBe(true);
    expect(signals[1]?.aborted).toBe(true);
    expect(signals[0]?.aborted).toBe(false);
  });

  it("leaves a call with malformed params or an invalid progress token to the transport's screen", () => {
    const { fast, sent } = harness(async () => ({ content: [] }));
    for (const token of [{}, [], true, 1.5, null])
      expect(fast.handle(call(1, { name: "a", _meta: { progressToken: token } }))).toBe(false);
    expect(fast.handle(call(2, { name: "a", arguments: [1] }))).toBe(false);
    expect(fast.handle(call(3, { name: "a", arguments: null }))).toBe(false);
    expect(fast.inFlight).toBe(0);
    expect(sent).toEqual([]);
  });
});
