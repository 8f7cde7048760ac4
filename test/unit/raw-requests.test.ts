import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode, McpError, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { RawRequests } from "../../src/downstream/rawRequests.js";

function wire() {
  const sent: JSONRPCMessage[] = [];
  const raw = new RawRequests((m) => void sent.push(m));
  const idOf = (i: number) => (sent[i] as { id: string }).id;
  return { raw, sent, idOf };
}

const opts = (signal = new AbortController().signal, extra: Record<string, unknown> = {}) => ({
  signal,
  timeoutMs: 1_000,
  maxTotalTimeoutMs: 5_000,
  onprogress: undefined,
  ...extra,
});

describe("raw tools/call requests on a stdio downstream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a lost link fails every pending request and stops the timeout timer", async () => {
    const { raw } = wire();
    const a = raw.request("tools/call", { name: "a" }, opts());
    const b = raw.request("tools/call", { name: "b" }, opts());
    expect(vi.getTimerCount()).toBe(1); // one shared timer for both attempt timeouts
    raw.failAll();
    await expect(a).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
    await expect(b).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
    expect(raw.inFlight).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a link that is down rejects the request at once and leaves nothing pending", async () => {
    const raw = new RawRequests(() => {
      throw new Error("Not connected");
    });
    await expect(raw.request("tools/call", { name: "echo" }, opts())).rejects.toThrow("Not connected");
    expect(raw.inFlight).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not change the caller's params or _meta (its progress token goes on a copy)", async () => {
    const { raw, sent, idOf } = wire();
    const meta = { trace: "t" };
    const params = { name: "echo", arguments: {}, _meta: meta };
    void raw.request("tools/call", params, opts()).catch(() => undefined);
    expect(meta).toEqual({ trace: "t" });
    expect(params._meta).toBe(meta);
    expect((sent[0] as { params: { _meta: unknown } }).params._meta).toEqual({
      trace: "t",
      progressToken: idOf(0),
    });
    raw.failAll();
  });

  it("uses its own string ids and progress token, and resolves with the result", async () => {
    const { raw, sent, idOf } = wire();
    const pending = raw.request(
      "tools/call",
      { name: "echo", arguments: { m: 1 }, _meta: { trace: "t" } },
      opts(),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(sent[0]).toMatchObject({
      method: "tools/call",
      params: { name: "echo", _meta: { trace: "t", progressToken: idOf(0) } },
    });
    expect(idOf(0)).toMatch(/^amcp-\d+$/);
    expect(raw.route({ jsonrpc: "2.0", id: 7, result: {} } as JSONRPCMessage)).toBe(false); // the SDK's id space
    expect(raw.route({ jsonrpc: "2.0", id: idOf(0), result: { content: [] } } as JSONRPCMessage)).toBe(true);
    await expect(pending).resolves.toEqual({ content: [] });
  });

  it("rejects with the server's JSON-RPC error", async () => {
    const { raw, idOf } = wire();
    const pending = raw.request("tools/call", { name: "x" }, opts());
    await vi.advanceTimersByTimeAsync(0);
    raw.route({
      jsonrpc: "2.0",
      id: idOf(0),
      error: { code: -32050, message: "nope", data: { a: 1 } },
    } as JSONRPCMessage);
    await expect(pending).rejects.toMatchObject({ code: -32050, data: { a: 1 } });
  });

  it("times out per attempt, restarts the timer on progress, and cancels downstream", async () => {
    const { raw, sent, idOf } = wire();
    const progress: number[] = [];
    const pending = raw.request(
      "tools/call",
      { name: "slow" },
      opts(undefined, { onprogress: (p: { progress: number }) => void progress.push(p.progress) }),
    );
    const caught = pending.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(900);
    expect(
      raw.route({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: idOf(0), progress: 1 },
      } as JSONRPCMessage),
    ).toBe(true);
    await vi.advanceTimersByTimeAsync(900); // 1,800 ms in, but progress restarted the 1,000 ms attempt timer
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    const error = (await caught) as McpError;
    expect(error.code).toBe(ErrorCode.RequestTimeout);
    expect(progress).toEqual([1]);
    expect(sent[1]).toMatchObject({
      method: "notifications/cancelled",
      params: { requestId: idOf(0), reason: "Request timed out" },
    });
  });

  it("caps the whole request at maxTotalTimeout even with progress", async () => {
    const { raw, idOf } = wire();
    const caught = raw
      .request("tools/call", { name: "slow" }, opts(undefined, { maxTotalTimeoutMs: 1_500 }))
      .catch((e: unknown) => e);
    for (let t = 0; t < 4; t++) {
      await vi.advanceTimersByTimeAsync(500);
      raw.route({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: idOf(0), progress: t },
      } as JSONRPCMessage);
    }
    const error = (await caught) as McpError;
    expect(error.code).toBe(ErrorCode.RequestTimeout);
    expect(error.data).toMatchObject({ maxTotalTimeout: 1_500 });
  });

  it("on abort sends notifications/cancelled with the reason and rejects", async () => {
    const { raw, sent, idOf } = wire();
    const controller = new AbortController();
    const caught = raw
      .request("tools/call", { name: "hang" }, opts(controller.signal))
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    controller.abort("user pressed stop");
    expect(await caught).toBeInstanceOf(McpError);
    expect(sent[1]).toMatchObject({
      method: "notifications/cancelled",
      params: { requestId: idOf(0), reason: "user pressed stop" },
    });
    // A late answer is not delivered anywhere.
    expect(raw.route({ jsonrpc: "2.0", id: idOf(0), result: {} } as JSONRPCMessage)).toBe(false);
  });

  it("fails every request in flight with 'Connection closed' when the link goes", async () => {
    const { raw } = wire();
    const a = raw.request("tools/call", { name: "a" }, opts()).catch((e: unknown) => e);
    const b = raw.request("tools/call", { name: "b" }, opts()).catch((e: unknown) => e);
    raw.failAll();
    for (const e of [await a, await b]) expect((e as McpError).code).toBe(ErrorCode.ConnectionClosed);
  });
});
