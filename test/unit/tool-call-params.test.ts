import { describe, expect, it } from "vitest";
import { readToolCallParams } from "../../src/jsonrpc/toolCallParams.js";
import { screenShape } from "../../src/jsonrpc/screen.js";

describe("tools/call params: one check for every front (issue #15)", () => {
  it("accepts a well-formed call, arguments defaulting to {}", () => {
    expect(readToolCallParams({ name: "a" })).toEqual({ name: "a", args: {}, meta: undefined });
    expect(readToolCallParams({ name: "a", arguments: { x: 1 }, _meta: { progressToken: 7 } })).toEqual({
      name: "a",
      args: { x: 1 },
      meta: { progressToken: 7 },
    });
    expect(readToolCallParams({ name: "a", _meta: { progressToken: "t" } })).toMatchObject({ name: "a" });
  });

  it.each([
    [undefined, "tools/call needs params as an object, got undefined"],
    [{}, "tools/call needs a string name, got undefined"],
    [{ name: 7 }, "tools/call needs a string name, got number"],
    [{ name: "a", arguments: [1] }, "arguments of a must be an object, got an array"],
    [{ name: "a", arguments: null }, "arguments of a must be an object, got null"],
    [{ name: "a", arguments: "x" }, "arguments of a must be an object, got string"],
    [{ name: "a", _meta: "x" }, "_meta must be an object, got string"],
    [
      { name: "a", _meta: { progressToken: {} } },
      "_meta.progressToken must be a string or an integer, got object",
    ],
    [
      { name: "a", _meta: { progressToken: [] } },
      "_meta.progressToken must be a string or an integer, got an array",
    ],
    [
      { name: "a", _meta: { progressToken: true } },
      "_meta.progressToken must be a string or an integer, got boolean",
    ],
    [
      { name: "a", _meta: { progressToken: null } },
      "_meta.progressToken must be a string or an integer, got null",
    ],
    [
      { name: "a", _meta: { progressToken: 1.5 } },
      "_meta.progressToken must be a string or an integer, got a number that is not an integer",
    ],
  ])("refuses %j", (params, why) => {
    expect(readToolCallParams(params)).toEqual({ refused: `Invalid params: ${why}` });
    // The screen in front of the SDK answers it -32602 with the request's id.
    const m = { jsonrpc: "2.0", id: 3, method: "tools/call", ...(params === undefined ? {} : { params }) };
    expect(screenShape(m)?.reply).toEqual({
      jsonrpc: "2.0",
      id: 3,
      error: { code: -32602, message: `Invalid params: ${why}` },
    });
  });
});
