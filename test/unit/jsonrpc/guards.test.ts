import { ProtocolError, SdkError, SdkErrorCode } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { classifyFailure, type FailureContext } from "../../../src/downstream/classify.js";
import { LineBuffer, type OversizeLine } from "../../../src/jsonrpc/lineBuffer.js";
import { isAggregatorError } from "../../../src/errors.js";
import { parsedTooDeep, tooDeep } from "../../../src/jsonrpc/depth.js";
import { idFromEdges, toolResultProblem, tooLarge } from "../../../src/jsonrpc/rejected.js";
import { rejectedError } from "../../../src/jsonrpc/rejectedError.js";
import { screenDepth, screenShape } from "../../../src/jsonrpc/screen.js";
import { serialize, UnserializableMessage } from "../../../src/jsonrpc/serialize.js";
import { countsForBreaker, isTransportFailure } from "../../../src/pipeline/failure.js";

function deepArray(depth: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

const ctx = (over: Partial<FailureContext> = {}): FailureContext => ({
  server: "h",
  current: true,
  incident: "h#1",
  lastError: undefined,
  method: "tools/call",
  params: { name: "echo" },
  timeoutMs: 1000,
  aborted: false,
  onSessionExpired: () => undefined,
  ...over,
});

describe("depth guards (src/jsonrpc/depth.ts)", () => {
  it("measures depth without recursion: 100,000 levels is answered, not a stack overflow", () => {
    expect(tooDeep(deepArray(100_000), 512)).toBe(true);
    expect(tooDeep(deepArray(512), 512)).toBe(false);
    expect(tooDeep(deepArray(513), 512)).toBe(true);
    expect(tooDeep({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(tooDeep({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(tooDeep("x", 0)).toBe(false);
  });

  it("skips the walk for texts too short to nest that deep", () => {
    expect(parsedTooDeep(deepArray(600), 1_024, 512)).toBe(false);
    expect(parsedTooDeep(deepArray(600), 1_200, 512)).toBe(true);
  });
});

describe("client message screens (src/jsonrpc/screen.ts)", () => {
  it("a deep tools/call argument is an isError result; any other deep message -32600 with its id; no id: dropped", () => {
    const call = {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "t", arguments: { x: deepArray(600) } },
    };
    expect(screenDepth(call, 5_000, 512)).toMatchObject({
      isResult: true,
      reply: {
        id: 3,
        result: {
          isError: true,
          content: [
            { text: "Invalid arguments for t: (root): nested deeper than 512 levels (maxJsonDepth)" },
          ],
        },
      },
    });
    const other = { jsonrpc: "2.0", id: "x", method: "ping", params: { a: deepArray(600) } };
    expect(screenDepth(other, 5_000, 512)?.reply).toMatchObject({ id: "x", error: { code: -32600 } });
    expect(
      screenDepth({ jsonrpc: "2.0", id: deepArray(600), method: "ping" }, 5_000, 512)?.reply,
    ).toBeUndefined();
  });

  it("a request the SDK would not recognise gets -32600 with its id; notifications and responses pass", () => {
    expect(screenShape({ jsonrpc: "2.0", id: 1, method: "tools/list", params: "x" })?.reply).toMatchObject({
      id: 1,
      error: { code: -32600 },
    });
    expect(screenShape({ jsonrpc: "2.0", id: 2 })?.reply).toMatchObject({ id: 2, error: { code: -32600 } });
    expect(screenShape({ jsonrpc: "2.0", id: true, method: "ping" })?.reply).toMatchObject({ id: null });
    expect(screenShape({ jsonrpc: "2.0", method: "notifications/progress" })).toBeUndefined();
    expect(screenShape({ jsonrpc: "2.0", id: 4, result: {} })).toBeUndefined();
    expect(screenShape({ jsonrpc: "2.0", id: 5, method: "ping" })).toBeUndefined();
  });
});

describe("line reader over the limit (src/downstream/lineBuffer.ts)", () => {
  it("drops an oversize line as it arrives, reports its size and edges, and goes on with the next line", () => {
    const buffer = new LineBuffer(100);
    const lines: string[] = [];
    const over: OversizeLine[] = [];
    const big = `{"result":{"text":"${"x".repeat(5_000)}"},"jsonrpc":"2.0","id":"amcp-7"}`;
    const data = Buffer.from(`{"a":1}\n${big}\n{"b":2}\n`);
    for (let i = 0; i < data.length; i += 333)
      buffer.push(
        data.subarray(i, i + 333),
        (l) => lines.push(l),
        (o) => over.push(o),
      );
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(over).toHaveLength(1);
    expect(over[0]?.bytes).toBe(big.length);
    expect(idFromEdges(over[0]?.head ?? "", over[0]?.tail ?? "")).toBe("amcp-7");
  });

  it("reads the id from either edge", () => {
    expect(idFromEdges('{"jsonrpc":"2.0","id":42,"result":{', "…}}")).toBe(42);
    expect(idFromEdges('{"result":{"content":[', 'x"}]},"jsonrpc":"2.0","id":"a\\"b"}')).toBe('a"b');
    expect(idFromEdges('{"result":{', '"nested":{"id":7}}}')).toBeUndefined();
  });
});

describe("tools/call result shape (toolResultProblem)", () => {
  it("names what is wrong; accepts what clients accept", () => {
    expect(toolResultProblem(null)).toBe("the result is null");
    expect(toolResultProblem("s")).toBe("the result is a string");
    expect(toolResultProblem({ content: "nope" })).toBe("content is a string, not an array");
    expect(toolResultProblem({ content: [{ text: "x" }] })).toBe("content[0] has no type");
    expect(toolResultProblem({ content: ["x"] })).toBe("content[0] is not an object");
    expect(
      toolResultProblem({ content: [{ type: "text", text: "x", extra: 1 }], other: true }),
    ).toBeUndefined();
    expect(toolResultProblem({ structuredContent: {} })).toBeUndefined();
  });
});

describe("classification of hostile failures (src/downstream/classify.ts)", () => {
  it("-32000 from a server is the server's answer; the SDK's own connection-closed error is a lost link", () => {
    const e = classifyFailure(new ProtocolError(-32000, "rpc error on purpose"), ctx());
    expect(e).toBeInstanceOf(ProtocolError);
    expect(isTransportFailure(e)).toBe(false);
    expect(countsForBreaker(e)).toBe(false);
    const lost = classifyFailure(new SdkError(SdkErrorCode.ConnectionClosed, "Connection closed"), ctx());
    expect(isAggregatorError(lost, "SERVER_UNAVAILABLE")).toBe(true);
    expect(isTransportFailure(lost)).toBe(true);
  });

  it("a request that cannot be serialised is INVALID_ARGUMENTS; a refused answer INVALID_RESULT; neither counts", () => {
    let unserialisable: unknown;
    try {
      serialize({ x: deepArray(20_000) });
    } catch (error) {
      unserialisable = error;
    }
    expect(unserialisable).toBeInstanceOf(UnserializableMessage);
    const a = classifyFailure(unserialisable, ctx());
    expect(isAggregatorError(a, "INVALID_ARGUMENTS")).toBe(true);
    const r = classifyFailure(rejectedError(tooLarge(9_000_000, 8_388_608)), ctx());
    expect(isAggregatorError(r, "INVALID_RESULT")).toBe(true);
    expect((r as Error).message).toBe(
      "h: echo returned 9000000 bytes, over the limit of 8388608 bytes (maxResultBytes); it was not forwarded: ask for less (a narrower query, a page) or raise maxResultBytes for this server",
    );
    for (const e of [a, r]) {
      expect(isTransportFailure(e)).toBe(false);
      expect(countsForBreaker(e)).toBe(false);
    }
  });
});
