import { expect, it } from "vitest";
import { waitFor } from "../helpers/aggregator.js";
import { deepArrayText, textOf, type CallResult, type Message } from "../helpers/hostile.js";

/** One front of the built CLI, driven raw (stdio lines or HTTP POSTs). */
export interface HostileDriver {
  call(name: string, args?: Record<string, unknown>): Promise<CallResult>;
  /** Sends one raw message; resolves with the answer carrying `id` (undefined when none came). */
  exchange(body: string, id: string | number | undefined): Promise<Message | undefined>;
  alive(): boolean;
  stderr(): string;
}

interface Stats {
  calls: Record<string, number>;
  pid: number;
}

async function stats(d: HostileDriver, server = "h"): Promise<Stats> {
  return JSON.parse(textOf(await d.call(`${server}_stats`))) as Stats;
}

/** After any hostile message: the aggregator is alive and an ordinary call on the same front works. */
async function stillServing(d: HostileDriver): Promise<void> {
  expect(d.alive()).toBe(true);
  const r = await d.call("h_echo", { message: "still here" });
  expect(r.isError).toBeFalsy();
  expect(textOf(r)).toBe("still here");
}

/** The scenarios every front must survive (each one failed on the code before issue #14's fixes). */
export function hostileScenarios(driver: () => HostileDriver): void {
  it("a result nested 10,000 deep fails that call alone (isError naming the server); a concurrent call survives", async () => {
    const d = driver();
    const slow = d.call("h_slow", { ms: 300 });
    const r = await d.call("h_deep_result", { depth: 10_000 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^h_deep_result: h: deep_result returned an answer nested deeper than 512 levels \(maxJsonDepth\)/,
    );
    expect(textOf(await slow)).toBe("slow done");
    await stillServing(d);
  });

  it("arguments nested 6,000 deep: an isError 'Invalid arguments' before any I/O, no breaker count", async () => {
    const d = driver();
    const before = await stats(d);
    for (let i = 0; i < 6; i++) {
      const id = `deep-args-${i}`;
      const body = `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"h_echo","arguments":{"message":"x","extra":${deepArrayText(6_000)}}}}`;
      const m = await d.exchange(body, id);
      const result = m?.["result"] as CallResult | undefined;
      expect(result?.isError).toBe(true);
      expect(textOf(result as CallResult)).toBe(
        "Invalid arguments for h_echo: (root): nested deeper than 512 levels (maxJsonDepth)",
      );
    }
    const after = await stats(d);
    expect(after.calls["echo"] ?? 0).toBe(before.calls["echo"] ?? 0);
    expect(after.pid).toBe(before.pid);
    await stillServing(d);
  });

  it("a request with a 6,000-deep id is dropped; a deep request with a readable id gets -32600 with that id", async () => {
    const d = driver();
    await d.exchange(
      `{"jsonrpc":"2.0","id":${deepArrayText(6_000)},"method":"tools/call","params":{"name":"h_echo","arguments":{"message":"x"}}}`,
      undefined,
    );
    await stillServing(d);
    const m = await d.exchange(
      `{"jsonrpc":"2.0","id":77,"method":"resources/read","params":{"uri":${deepArrayText(6_000)}}}`,
      77,
    );
    expect(m).toMatchObject({
      id: 77,
      error: { code: -32600, message: "Invalid Request: nested deeper than 512 levels (maxJsonDepth)" },
    });
    await stillServing(d);
  });

  it("malformed notifications from a server are dropped; its link and a concurrent call survive", async () => {
    const d = driver();
    const before = await stats(d);
    const slow = d.call("h_slow", { ms: 300 });
    const r = await d.call("h_bad_notify");
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toBe("ok");
    expect(textOf(await slow)).toBe("slow done");
    expect((await stats(d)).pid).toBe(before.pid);
    await stillServing(d);
  });

  it("JSON-RPC -32000 from a live server is forwarded: not retried, never opens the breaker", async () => {
    const d = driver();
    const before = await stats(d);
    for (let i = 0; i < 6; i++) {
      const id = `e${i}`;
      const m = await d.exchange(
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "h_rpc_error", arguments: { code: -32000 } },
        }),
        id,
      );
      expect(m).toMatchObject({ id, error: { code: -32000, message: "rpc error on purpose" } });
    }
    const after = await stats(d);
    expect((after.calls["rpc_error"] ?? 0) - (before.calls["rpc_error"] ?? 0)).toBe(6);
    expect(after.pid).toBe(before.pid);
    await stillServing(d);
  });

  it.each(["null", "string", "content_string", "no_type", "item_string"])(
    "an invalid tools/call result (%s) becomes an isError naming the server and the problem",
    async (kind) => {
      const d = driver();
      const r = await d.call("h_invalid_result", { kind });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^h_invalid_result: h: invalid_result returned an invalid (tools\/call result|answer) \(.+\); it was not forwarded$/,
      );
      await stillServing(d);
    },
  );

  it("a result over maxResultBytes is refused with its size and the limit: not retried, no restart", async () => {
    const d = driver();
    const before = await stats(d);
    for (const idFirst of [false, true]) {
      const r = await d.call("h_big", { bytes: 3_000_000, idFirst });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^h_big: h: big returned 30000\d\d bytes, over the limit of 2097152 bytes \(maxResultBytes\)/,
      );
    }
    const after = await stats(d);
    expect((after.calls["big"] ?? 0) - (before.calls["big"] ?? 0)).toBe(2);
    expect(after.pid).toBe(before.pid);
    const ok = await d.call("h_big", { bytes: 1000 });
    expect(ok.isError).toBeFalsy();
    await stillServing(d);
  });

  it("a catastrophic schema pattern runs on RE2; a JS-only pattern is reported, not run", async () => {
    const d = driver();
    const r = await d.call("h_catastrophic", { s: `${"a".repeat(31)}!` });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('/s: must match pattern "^(a+)+$"');
    expect(textOf(await d.call("h_catastrophic", { s: "aaa" }))).toBe("matched");
    expect((await d.call("h_lookahead", { s: "b" })).isError).toBeFalsy();
    // The warning is logged (stderr, asynchronously) when the schema is compiled: wait for it.
    await waitFor(() => d.stderr().includes("not supported by the linear-time regex engine"));
    await stillServing(d);
  });

  it("a 40,000-property schema is not compiled: only the object and required-keys check, one warning", async () => {
    const d = driver();
    const missing = await d.call("h_huge_schema", {});
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toBe(
      "Invalid arguments for h_huge_schema: (root): must have required property 'p0'",
    );
    expect(textOf(await d.call("h_huge_schema", { p0: "x" }))).toBe("ok");
    await waitFor(() => d.stderr().includes("inputSchema is over maxSchemaNodes"));
    await stillServing(d);
  });
}
