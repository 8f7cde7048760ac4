import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStdio, tempDir, type StdioHarness, type TempDir } from "../helpers/aggregator.js";
import { hostileConfig, RawStdio, textOf, type CallResult, type Message } from "../helpers/hostile.js";
import { hostileScenarios, type HostileDriver } from "./hostile.shared.js";

/** Issue #14: hostile input through the stdio front of the built CLI (npm run build first). */
describe("hostile input, stdio front, raw JSON-RPC lines", () => {
  let tmp: TempDir;
  let raw: RawStdio;
  let probe = 0;

  beforeAll(async () => {
    tmp = await tempDir();
    raw = new RawStdio(await hostileConfig(tmp.dir));
    await raw.initialize();
  }, 30_000);
  afterAll(async () => {
    await raw.close();
    await tmp.cleanup();
  });

  const driver: HostileDriver = {
    call: (name, args) => raw.call(name, args),
    exchange: async (body, id): Promise<Message | undefined> => {
      raw.writeLine(body);
      if (id !== undefined) return raw.answer(id);
      // No readable id: lines are handled in order, so once a later request is answered any answer to
      // this one would have been written already.
      const probeId = `probe-${++probe}`;
      raw.send({ jsonrpc: "2.0", id: probeId, method: "ping" });
      await raw.answer(probeId);
      return undefined;
    },
    alive: () => raw.alive,
    stderr: () => raw.stderr,
  };

  hostileScenarios(() => driver);

  it("a line that is not JSON, a batch, a non-object: one error each; requests the SDK would leave unanswered get -32600 with their id", async () => {
    const before = raw.messages.length;
    await driver.exchange("{not json", undefined);
    await driver.exchange("[1,2]", undefined);
    await driver.exchange("42", undefined);
    const nullIds = raw.messages.slice(before).filter((m) => m.id === null);
    expect(nullIds.map((m) => (m["error"] as { code: number }).code)).toEqual([-32700, -32600, -32600]);
    for (const [body, id] of [
      ['{"jsonrpc":"2.0","id":"a","method":"tools/list","params":"x"}', "a"],
      ['{"jsonrpc":"2.0","id":"b"}', "b"],
      ['{"jsonrpc":"2.0","id":1.5,"method":7}', 1.5],
      ['{"jsonrpc":"1.0","id":"c","method":"ping"}', "c"],
    ] as const) {
      const m = await driver.exchange(body, id);
      expect(m).toMatchObject({ id, error: { code: -32600 } });
      expect(raw.answersFor(id)).toHaveLength(1);
    }
    expect(raw.alive).toBe(true);
  });
});

describe("hostile input, stdio front, SDK client", () => {
  let tmp: TempDir;
  let agg: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    agg = await startStdio(await hostileConfig(tmp.dir));
  }, 30_000);
  afterAll(async () => {
    await agg.close();
    await tmp.cleanup();
  });

  it("a 20 MB result at the default maxResultBytes is an isError, and the SDK client's connection survives", async () => {
    const r = (await agg.client.callTool({ name: "d_big", arguments: { bytes: 20_000_000 } })) as CallResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /returned 200000\d\d bytes, over the limit of 8388608 bytes \(maxResultBytes\)/,
    );
    const ok = (await agg.client.callTool({ name: "d_echo", arguments: { message: "alive" } })) as CallResult;
    expect(textOf(ok)).toBe("alive");
  });

  it("deep results, malformed notifications and -32000 do not end the session", async () => {
    const deep = (await agg.client.callTool({
      name: "h_deep_result",
      arguments: { depth: 10_000 },
    })) as CallResult;
    expect(deep.isError).toBe(true);
    expect(textOf((await agg.client.callTool({ name: "h_bad_notify", arguments: {} })) as CallResult)).toBe(
      "ok",
    );
    await expect(agg.client.callTool({ name: "h_rpc_error", arguments: { code: -32000 } })).rejects.toThrow(
      "rpc error on purpose",
    );
    const ok = (await agg.client.callTool({ name: "h_echo", arguments: { message: "alive" } })) as CallResult;
    expect(textOf(ok)).toBe("alive");
  });
});
