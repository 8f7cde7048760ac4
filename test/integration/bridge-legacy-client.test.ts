/**
 * The bridge, 2025-era client side (docs/protocol-generations.md#the-bridge): a v1 SDK client (as deployed
 * today) through the built CLI's stdio front, in front of a modern-only, a dual-era and a 2025-era server.
 *
 * - legacy client ← modern server: the server's `input_required` becomes real elicitation/create,
 *   sampling/createMessage and roots/list requests to this client (the SDK legacy shim on our front), and
 *   the call is retried downstream with the answers and the server's own requestState (the fixture refuses
 *   any other state): the client sees one ordinary tools/call (and prompts/get).
 * - legacy client ↔ legacy server: relayed as before.
 * - a client without the capability: a clear isError, never a -32021 or another client's answer.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { v2Entry } from "../helpers/modern.js";
import {
  FULL_CLIENT_CAPS,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

const servers = { modern: v2Entry("modern"), dual: v2Entry("dual"), legacy: v2Entry("legacy") };

/** tools/call requests the fixture servers of one era received so far (their V2_START_LOG lines). */
async function toolCalls(log: string, era: string): Promise<number> {
  const lines = (await readFile(log, "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { pid: number; era?: string; method?: string });
  const pids = new Set(lines.filter((l) => l.era === era).map((l) => l.pid));
  return lines.filter((l) => pids.has(l.pid) && l.method === "tools/call").length;
}

describe("bridge: a 2025-era client", () => {
  let dir: TempDir;
  let h: StdioHarness;
  let log: string;
  const asked: { method: string; params: unknown }[] = [];

  beforeAll(async () => {
    dir = await tempDir("amcp-bridge-legacy-");
    log = path.join(dir.dir, "requests.log");
    const env = { V2_START_LOG: log };
    const config = await writeConfig(dir.dir, {
      mcpServers: Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, { ...v, env }])),
    });
    h = await startStdio(config, { capabilities: FULL_CLIENT_CAPS });
    h.client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push({ method: request.method, params: request.params });
      const message = request.params.message;
      if (message.includes("decline")) return { action: "decline" };
      if (message.includes("never")) return await new Promise<never>(() => undefined); // the user walks away
      if ("requestedSchema" in request.params && "who" in (request.params.requestedSchema.properties ?? {}))
        return { action: "accept", content: { who: "Ada" } };
      return { action: "accept", content: { answer: `yes to ${message}` } };
    });
    h.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      asked.push({ method: request.method, params: request.params });
      const first = request.params.messages[0]?.content;
      const prompt = first && "text" in first ? first.text : "";
      return { role: "assistant", model: "test-model", content: { type: "text", text: `echo ${prompt}` } };
    });
    h.client.setRequestHandler(ListRootsRequestSchema, async (request) => {
      asked.push({ method: request.method, params: request.params });
      return { roots: [{ uri: "file:///work/a" }, { uri: "file:///work/b" }] };
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await dir?.cleanup();
  });

  /** The calls `status` counts for the modern server (the pipeline's observe layer). */
  const modernCalls = async (): Promise<number> => {
    const status = (await h.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
    const servers = (status.structuredContent as { servers: { name: string; calls: number }[] }).servers;
    return servers.find((s) => s.name === "modern")?.calls ?? -1;
  };

  it.each(["modern", "dual"])(
    "%s server: input_required becomes an elicitation to this client; one ordinary tools/call",
    async (era) => {
      asked.length = 0;
      const result = await h.client.callTool({
        name: `${era}_confirm_${era}`,
        arguments: { question: "ship" },
      });
      expect(result.isError).not.toBe(true);
      // The fixture checks its requestState came back byte for byte through ours.
      expect(text(result)).toBe(`${era} confirmed ship: yes to ship`);
      expect(result).not.toHaveProperty("resultType", "input_required");
      expect(asked).toEqual([
        {
          method: "elicitation/create",
          params: expect.objectContaining({ message: "ship" }),
        },
      ]);
    },
  );

  it("one extra round trip per input_required exchange: the server sees the call and its one retry", async () => {
    const before = await toolCalls(log, "modern");
    const counted = await modernCalls();
    await h.client.callTool({ name: "modern_confirm_modern", arguments: { question: "count" } });
    expect((await toolCalls(log, "modern")) - before).toBe(2);
    // The shim re-entered our handler once: each round went through the pipeline once (status counts both).
    expect((await modernCalls()) - counted).toBe(2);
    const plain = await toolCalls(log, "modern");
    await h.client.callTool({ name: "modern_echo_modern", arguments: { message: "count" } });
    expect((await toolCalls(log, "modern")) - plain).toBe(1);
  });

  it("cancelling the call while its elicitation waits: nothing more reaches the server; later calls work", async () => {
    const before = await toolCalls(log, "modern");
    const abort = new AbortController();
    const call = h.client.callTool(
      { name: "modern_confirm_modern", arguments: { question: "never answered" } },
      undefined,
      { signal: abort.signal },
    );
    call.catch(() => undefined);
    await waitFor(() => asked.some((a) => (a.params as { message?: string }).message === "never answered"));
    abort.abort();
    await expect(call).rejects.toThrow();
    const ok = await h.client.callTool({ name: "modern_echo_modern", arguments: { message: "after" } });
    expect(text(ok)).toBe("modern: after");
    // The first round and the echo: the cancelled exchange was not retried downstream.
    expect((await toolCalls(log, "modern")) - before).toBe(2);
  });

  it("a declined elicitation reaches the server as declined", async () => {
    const result = await h.client.callTool({
      name: "modern_confirm_modern",
      arguments: { question: "please decline" },
    });
    expect(text(result)).toBe("modern declined");
  });

  it("sampling and roots from a modern server", async () => {
    asked.length = 0;
    const sampled = await h.client.callTool({ name: "modern_sample_modern", arguments: { prompt: "hi" } });
    expect(text(sampled)).toBe("modern sampled: echo hi");
    const roots = await h.client.callTool({ name: "modern_roots_modern", arguments: {} });
    expect(text(roots)).toBe("modern roots: file:///work/a,file:///work/b");
    expect(asked.map((a) => a.method)).toEqual(["sampling/createMessage", "roots/list"]);
  });

  it("prompts/get with input_required: the client is asked, then gets the prompt", async () => {
    asked.length = 0;
    const prompt = await h.client.getPrompt({ name: "modern_ask_modern", arguments: {} });
    expect(prompt.messages).toEqual([
      { role: "user", content: { type: "text", text: "Asked Ada from modern" } },
    ]);
    expect(asked.map((a) => a.method)).toEqual(["elicitation/create"]);
  });

  it("resources/read with input_required: the client is asked, then gets the resource", async () => {
    asked.length = 0;
    const read = await h.client.readResource({ uri: "v2://modern/secret" });
    expect(read.contents).toEqual([
      { uri: "v2://modern/secret", mimeType: "text/plain", text: "secret of modern for yes to pin?" },
    ]);
    expect(asked.map((a) => a.method)).toEqual(["elicitation/create"]);
  });

  it("legacy ↔ legacy: the server's own elicitation is relayed as before", async () => {
    asked.length = 0;
    const result = await h.client.callTool({ name: "legacy_confirm_legacy", arguments: { question: "go" } });
    expect(text(result)).toBe("legacy confirmed go: yes to go");
    const twice = await h.client.callTool({ name: "legacy_twice_legacy", arguments: {} });
    expect(text(twice)).toBe("legacy twice: yes to first?+yes to second?");
    expect(asked.map((a) => a.method)).toEqual([
      "elicitation/create",
      "elicitation/create",
      "elicitation/create",
    ]);
  });

  it("an ordinary call is untouched (no input_required vocabulary reaches a 2025-era client)", async () => {
    const result = await h.client.callTool({ name: "modern_echo_modern", arguments: { message: "x" } });
    expect(text(result)).toBe("modern: x");
  });
});

describe("bridge: a 2025-era client without the capability", () => {
  let dir: TempDir;
  let h: StdioHarness;

  beforeAll(async () => {
    dir = await tempDir("amcp-bridge-nocap-");
    const config = await writeConfig(dir.dir, { mcpServers: { modern: servers.modern } });
    h = await startStdio(config, { capabilities: { sampling: {} } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await dir?.cleanup();
  });

  it("gets a clear isError naming the capability; the server and later calls are fine", async () => {
    const result = (await h.client.callTool({
      name: "modern_confirm_modern",
      arguments: { question: "q" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    // The server itself refused (-32021: our request declared this client's capabilities), told as a tool error.
    expect(text(result)).toBe(
      "modern_confirm_modern: the server needs elicitation from the client, and this client did not declare the elicitation capability",
    );
    // Nothing else is lost: the same server still answers.
    const echo = await h.client.callTool({ name: "modern_echo_modern", arguments: { message: "still" } });
    expect(text(echo)).toBe("modern: still");
  });
});
