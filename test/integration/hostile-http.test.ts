import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttp, tempDir, type HttpHarness, type TempDir } from "../helpers/aggregator.js";
import { hostileConfig, RawHttp, textOf, type CallResult, type Message } from "../helpers/hostile.js";
import { hostileScenarios, type HostileDriver } from "./hostile.shared.js";

/** Issue #14: hostile input through the HTTP front of the built CLI (npm run build first). */
describe("hostile input, HTTP front", () => {
  let tmp: TempDir;
  let agg: HttpHarness;
  let raw: RawHttp;
  let client: Client;

  beforeAll(async () => {
    tmp = await tempDir();
    agg = await startHttp(await hostileConfig(tmp.dir));
    raw = await RawHttp.open(agg.url);
    client = await agg.connect();
  }, 30_000);
  afterAll(async () => {
    await agg.close();
    await tmp.cleanup();
  });

  const driver: HostileDriver = {
    call: (name, args) => raw.call(name, args),
    exchange: async (body, id): Promise<Message | undefined> => {
      const { messages } = await raw.post(body);
      return id === undefined ? undefined : messages.find((m) => m.id === id);
    },
    alive: () => agg.child.exitCode === null && agg.child.signalCode === null,
    stderr: () => agg.stderr(),
  };

  describe("raw fetch", () => {
    hostileScenarios(() => driver);

    it("a deep body is answered 400 with its id; a deep tools/call 200 with an isError result", async () => {
      const { status, messages } = await raw.post(
        `{"jsonrpc":"2.0","id":"x","method":"ping","params":{"a":${"[".repeat(3000)}${"]".repeat(3000)}}}`,
      );
      expect(status).toBe(400);
      expect(messages[0]).toMatchObject({ id: "x", error: { code: -32600 } });
    });

    it("a request the SDK would answer without its id gets -32600 with its id", async () => {
      for (const [body, id] of [
        ['{"jsonrpc":"2.0","id":"a","method":"tools/list","params":"x"}', "a"],
        ['{"jsonrpc":"2.0","id":"b"}', "b"],
        ['{"jsonrpc":"2.0","id":1.5,"method":7}', 1.5],
      ] as const) {
        const { status, messages } = await raw.post(body);
        expect(status).toBe(400);
        expect(messages).toEqual([
          expect.objectContaining({ id, error: expect.objectContaining({ code: -32600 }) }),
        ]);
      }
    });
  });

  describe("SDK client", () => {
    it("a 20 MB result is an isError naming size and limit; the client goes on", async () => {
      const r = (await client.callTool({ name: "d_big", arguments: { bytes: 20_000_000 } })) as CallResult;
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/over the limit of 8388608 bytes \(maxResultBytes\)/);
      const ok = (await client.callTool({ name: "d_echo", arguments: { message: "alive" } })) as CallResult;
      expect(textOf(ok)).toBe("alive");
    });

    it("a deep result does not hang the request; -32000 is forwarded; malformed notifications are dropped", async () => {
      const deep = (await client.callTool({
        name: "h_deep_result",
        arguments: { depth: 10_000 },
      })) as CallResult;
      expect(deep.isError).toBe(true);
      expect(textOf((await client.callTool({ name: "h_bad_notify", arguments: {} })) as CallResult)).toBe(
        "ok",
      );
      await expect(client.callTool({ name: "h_rpc_error", arguments: { code: -32000 } })).rejects.toThrow(
        "rpc error on purpose",
      );
      const ok = (await client.callTool({ name: "h_echo", arguments: { message: "alive" } })) as CallResult;
      expect(textOf(ok)).toBe("alive");
    });
  });
});
