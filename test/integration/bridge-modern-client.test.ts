/**
 * The bridge, 2026-07-28 client side (docs/protocol-generations.md#the-bridge): a v2 SDK client pinned to
 * 2026-07-28 through the built CLI's stdio front, in front of a modern-only, a dual-era and a 2025-era
 * server.
 *
 * - modern client ↔ modern server: input_required passes through (inputRequests verbatim, requestState
 *   ours, sealed, wrapping the server's); the retry reaches the same server with its own state (the
 *   fixture refuses any other). Tampered, expired, foreign-key and other-request states: -32602.
 * - modern client ← legacy server: the server's elicitation/sampling mid-call becomes an input_required
 *   answer; the call is held until the client's retry answers it (twice for two requests), cancelled
 *   when the retry is cancelled, and cancelled (with a clear error for a late retry) when nobody answers.
 * - a client lacking the capability: -32021.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import {
  createRequestStateCodec,
  type ClientCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { PassThroughResult } from "../../src/jsonrpc/passThrough.js";
import { CLI, tempDir, waitFor, writeConfig, type TempDir } from "../helpers/aggregator.js";
import { MODERN, v2Entry } from "../helpers/modern.js";

const KEY = "bridge-test-key-0123456789abcdef-0123456789abcdef";
const CAPS: ClientCapabilities = { elicitation: { form: {} }, sampling: {}, roots: {} };

type Result = Record<string, unknown>;
/** The codec's bind callback below ignores its context; mint() only wants one to exist. */
const NO_CTX = {} as ServerContext;

function text(result: Result): string {
  return ((result["content"] as { type: string; text?: string }[] | undefined) ?? [])
    .map((c) => c.text ?? "")
    .join("");
}

/** A v2 client pinned to 2026-07-28 over stdio to the built CLI; answers elicitation and sampling itself. */
async function modernClient(
  configPath: string,
  capabilities: ClientCapabilities,
  asked: { method: string; params: unknown }[] = [],
): Promise<Client> {
  const client = new Client(
    { name: "bridge-modern-client", version: "1.0.0" },
    { capabilities, versionNegotiation: { mode: { pin: MODERN } } },
  );
  if (capabilities.elicitation)
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push({ method: request.method, params: request.params });
      return { action: "accept", content: { answer: `yes to ${request.params.message}` } };
    });
  if (capabilities.sampling)
    client.setRequestHandler("sampling/createMessage", async (request) => {
      asked.push({ method: request.method, params: request.params });
      const first = request.params.messages[0]?.content;
      const prompt = first && "text" in first ? first.text : "";
      return { role: "assistant", model: "m", content: { type: "text", text: `echo ${prompt}` } };
    });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", "--config", configPath],
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", BRIDGE_TEST_KEY: KEY },
      stderr: "pipe",
    }),
  );
  return client;
}

/** One manual round: the answer as it comes, input_required included. */
function call(client: Client, params: Record<string, unknown>, signal?: AbortSignal): Promise<Result> {
  return client.request({ method: "tools/call", params }, PassThroughResult, {
    allowInputRequired: true,
    ...(signal ? { signal } : {}),
  }) as Promise<Result>;
}

function payloadOf(state: string): Record<string, unknown> {
  const body = state.slice(3, state.lastIndexOf("."));
  return (JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { p: Record<string, unknown> }).p;
}

describe("bridge: a 2026-07-28 client", () => {
  let dir: TempDir;
  let log: string;
  let client: Client;
  const asked: { method: string; params: unknown }[] = [];

  const records = async (): Promise<Record<string, unknown>[]> =>
    (await readFile(log, "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await tempDir("amcp-bridge-modern-");
    log = path.join(dir.dir, "starts.log");
    const env = { V2_START_LOG: log };
    const config = await writeConfig(dir.dir, {
      mcpServers: {
        modern: { ...v2Entry("modern"), env },
        dual: { ...v2Entry("dual"), env },
        legacy: { ...v2Entry("legacy"), env },
      },
      security: { requestStateKey: "${BRIDGE_TEST_KEY}" },
      bridge: { heldCallTimeoutMs: 1_000 },
    });
    client = await modernClient(config, CAPS, asked);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await dir?.cleanup();
  });

  describe("modern ↔ modern", () => {
    it.each(["modern", "dual"])("%s: the SDK client fulfils input_required; one callTool", async (era) => {
      asked.length = 0;
      const result = (await client.callTool({
        name: `${era}_confirm_${era}`,
        arguments: { question: "ship" },
      })) as Result;
      expect(text(result)).toBe(`${era} confirmed ship: yes to ship`);
      expect(asked.map((a) => a.method)).toEqual(["elicitation/create"]);
    });

    it("inputRequests pass verbatim; requestState is ours, sealed, naming the server and wrapping its own", async () => {
      const first = await call(client, { name: "modern_confirm_modern", arguments: { question: "q1" } });
      expect(first["resultType"]).toBe("input_required");
      expect(first["inputRequests"]).toEqual({
        confirm: {
          method: "elicitation/create",
          params: expect.objectContaining({ message: "q1", requestedSchema: expect.any(Object) }),
        },
      });
      const state = first["requestState"] as string;
      expect(state).toMatch(/^v1\./);
      expect(payloadOf(state)).toEqual({
        k: "pass",
        s: "modern",
        m: "tools/call",
        n: "modern_confirm_modern",
        d: "confirm-state:q1",
      });
      const second = await call(client, {
        name: "modern_confirm_modern",
        arguments: { question: "q1" },
        inputResponses: { confirm: { action: "accept", content: { answer: "manual" } } },
        requestState: state,
      });
      expect(text(second)).toBe("modern confirmed q1: manual");
    });

    it("sampling passes through", async () => {
      const result = (await client.callTool({
        name: "modern_sample_modern",
        arguments: { prompt: "p" },
      })) as Result;
      expect(text(result)).toBe("modern sampled: echo p");
    });

    it("prompts/get passes input_required through", async () => {
      // By hand: the shared client's handler answers elicitations with { answer }, the prompt wants { who }.
      const first = (await client.request(
        { method: "prompts/get", params: { name: "modern_ask_modern" } },
        PassThroughResult,
        { allowInputRequired: true },
      )) as Result;
      expect(first["resultType"]).toBe("input_required");
      expect(payloadOf(first["requestState"] as string)).toEqual({
        k: "pass",
        s: "modern",
        m: "prompts/get",
        n: "ask_modern",
      });
      const prompt = (await client.request(
        {
          method: "prompts/get",
          params: {
            name: "modern_ask_modern",
            inputResponses: { who: { action: "accept", content: { who: "Grace" } } },
            requestState: first["requestState"],
          },
        },
        PassThroughResult,
        { allowInputRequired: true },
      )) as Result;
      expect(prompt["messages"]).toEqual([
        { role: "user", content: { type: "text", text: "Asked Grace from modern" } },
      ]);
    });
  });

  describe("resources/read", () => {
    it("passes input_required through; the retry reads the resource", async () => {
      const read = (params: Record<string, unknown>) =>
        client.request({ method: "resources/read", params }, PassThroughResult, {
          allowInputRequired: true,
        }) as Promise<Result>;
      const first = await read({ uri: "v2://modern/secret" });
      expect(first["resultType"]).toBe("input_required");
      expect(payloadOf(first["requestState"] as string)).toEqual({
        k: "pass",
        s: "modern",
        m: "resources/read",
        n: "v2://modern/secret",
        d: "secret-state",
      });
      const done = await read({
        uri: "v2://modern/secret",
        inputResponses: { pin: { action: "accept", content: { answer: "1234" } } },
        requestState: first["requestState"],
      });
      expect(done["contents"]).toEqual([
        { uri: "v2://modern/secret", mimeType: "text/plain", text: "secret of modern for 1234" },
      ]);
      // A tools/call state is not a resources/read state.
      const tool = await call(client, { name: "modern_confirm_modern", arguments: { question: "q" } });
      await expect(
        read({ uri: "v2://modern/secret", requestState: tool["requestState"] }),
      ).rejects.toMatchObject({
        code: -32602,
      });
    });
  });

  describe("requestState that is not ours to accept: -32602, nothing reaches the server", () => {
    const retry = (requestState: string, name = "modern_confirm_modern") =>
      call(client, {
        name,
        arguments: { question: "q1" },
        inputResponses: { confirm: { action: "accept", content: { answer: "x" } } },
        requestState,
      });
    const refused = { code: -32602, message: expect.stringMatching(/Invalid or expired requestState/) };

    it("tampered", async () => {
      const first = await call(client, { name: "modern_confirm_modern", arguments: { question: "q1" } });
      const state = first["requestState"] as string;
      const body = Buffer.from(state.slice(3, state.lastIndexOf(".")), "base64url").toString("utf8");
      const forged = body.replace('"s":"modern"', '"s":"dual"');
      const tampered = `v1.${Buffer.from(forged).toString("base64url")}${state.slice(state.lastIndexOf("."))}`;
      await expect(retry(tampered)).rejects.toMatchObject(refused);
      await expect(retry(`${state.slice(0, -2)}AA`)).rejects.toMatchObject(refused);
      await expect(retry("confirm-state:q1")).rejects.toMatchObject(refused); // the server's own, raw
    });

    it("expired (signed with our key, past its time)", async () => {
      const codec = createRequestStateCodec({ key: KEY, ttlSeconds: -60, bind: () => "tools/call\0" });
      const expired = await codec.mint(
        {
          k: "pass",
          s: "modern",
          m: "tools/call",
          n: "modern_confirm_modern",
          d: "confirm-state:q1",
        },
        NO_CTX,
      );
      await expect(retry(expired)).rejects.toMatchObject(refused);
      // The same payload minted in time is accepted: the key from ${BRIDGE_TEST_KEY} is the one in use.
      const fresh = await createRequestStateCodec({ key: KEY, bind: () => "tools/call\0" }).mint(
        {
          k: "pass",
          s: "modern",
          m: "tools/call",
          n: "modern_confirm_modern",
          d: "confirm-state:q1",
        },
        NO_CTX,
      );
      expect(text(await retry(fresh))).toBe("modern confirmed q1: x");
    });

    it("from another key, bound to another principal, or for another server's tool", async () => {
      const payload = {
        k: "pass",
        s: "modern",
        m: "tools/call",
        n: "modern_confirm_modern",
        d: "confirm-state:q1",
      };
      const otherKey = createRequestStateCodec({ key: `${KEY}-other`, bind: () => "tools/call\0" });
      await expect(retry(await otherKey.mint(payload, NO_CTX))).rejects.toMatchObject(refused);
      const otherPrincipal = createRequestStateCodec({ key: KEY, bind: () => "tools/call\0alice" });
      await expect(retry(await otherPrincipal.mint(payload, NO_CTX))).rejects.toMatchObject(refused);
      // A genuine state of the dual server's tool, sent to the modern server's tool.
      const dual = await call(client, { name: "dual_confirm_dual", arguments: { question: "q1" } });
      await expect(retry(dual["requestState"] as string)).rejects.toMatchObject(refused);
    });
  });

  describe("modern client ← legacy server (held calls)", () => {
    it("an elicitation mid-call becomes input_required; the SDK client answers; one callTool", async () => {
      asked.length = 0;
      const result = (await client.callTool({
        name: "legacy_confirm_legacy",
        arguments: { question: "go" },
      })) as Result;
      expect(text(result)).toBe("legacy confirmed go: yes to go");
      const twice = (await client.callTool({ name: "legacy_twice_legacy", arguments: {} })) as Result;
      expect(text(twice)).toBe("legacy twice: yes to first?+yes to second?");
      const sampled = (await client.callTool({
        name: "legacy_sample_legacy",
        arguments: { prompt: "s" },
      })) as Result;
      expect(text(sampled)).toBe("legacy sampled: echo s");
      expect(asked.map((a) => a.method)).toEqual([
        "elicitation/create",
        "elicitation/create",
        "elicitation/create",
        "sampling/createMessage",
      ]);
    });

    it("by hand: each round answers input_required with the server's request, held from our state", async () => {
      const first = await call(client, { name: "legacy_twice_legacy", arguments: {} });
      expect(first["resultType"]).toBe("input_required");
      const requests = first["inputRequests"] as Record<
        string,
        { method: string; params: { message: string } }
      >;
      const [key1] = Object.keys(requests);
      expect(requests[key1 as string]).toMatchObject({
        method: "elicitation/create",
        params: { message: "first?" },
      });
      expect(payloadOf(first["requestState"] as string)).toMatchObject({
        k: "held",
        m: "tools/call",
        n: "legacy_twice_legacy",
      });
      const second = await call(client, {
        name: "legacy_twice_legacy",
        arguments: {},
        inputResponses: { [key1 as string]: { action: "accept", content: { answer: "A" } } },
        requestState: first["requestState"],
      });
      expect(second["resultType"]).toBe("input_required");
      const [key2] = Object.keys(second["inputRequests"] as object);
      const done = await call(client, {
        name: "legacy_twice_legacy",
        arguments: {},
        inputResponses: { [key2 as string]: { action: "accept", content: { answer: "B" } } },
        requestState: second["requestState"],
      });
      expect(text(done)).toBe("legacy twice: A+B");
      // A state is good for one retry: the call it named is no longer held.
      await expect(
        call(client, { name: "legacy_twice_legacy", arguments: {}, requestState: second["requestState"] }),
      ).rejects.toMatchObject({ code: -32602 });
    });

    it("cancelling the retry while the call runs cancels it downstream", async () => {
      const first = await call(client, { name: "legacy_hang_legacy", arguments: {} });
      const [key] = Object.keys(first["inputRequests"] as object);
      const abort = new AbortController();
      const retry = call(
        client,
        {
          name: "legacy_hang_legacy",
          arguments: {},
          inputResponses: { [key as string]: { action: "accept", content: { answer: "ok" } } },
          requestState: first["requestState"],
        },
        abort.signal,
      );
      retry.catch(() => undefined);
      // The server got its answer and now runs until cancelled: cancel the retry.
      await waitFor(async () => (await records()).some((r) => r["method"] === "tools/call"), 10_000);
      abort.abort();
      await expect(retry).rejects.toBeDefined();
      await waitFor(async () => (await records()).some((r) => r["cancelled"] === "hang_legacy"), 10_000);
    });

    it("nobody answers: cancelled downstream after bridge.heldCallTimeoutMs; a late retry gets a clear error", async () => {
      const first = await call(client, { name: "legacy_confirm_legacy", arguments: { question: "late" } });
      expect(first["resultType"]).toBe("input_required");
      await waitFor(async () => (await records()).some((r) => r["cancelled"] === "confirm_legacy"), 15_000);
      const [key] = Object.keys(first["inputRequests"] as object);
      const late = call(client, {
        name: "legacy_confirm_legacy",
        arguments: { question: "late" },
        inputResponses: { [key as string]: { action: "accept", content: { answer: "too late" } } },
        requestState: first["requestState"],
      });
      await expect(late).rejects.toMatchObject({ code: -32602 });
      await expect(late).rejects.toThrow(
        /Invalid or expired requestState: the call it belongs to is no longer held/,
      );
      // Nothing else is lost.
      const ok = (await client.callTool({
        name: "legacy_echo_legacy",
        arguments: { message: "m" },
      })) as Result;
      expect(text(ok)).toBe("legacy: m");
    });
  });
});

describe("bridge: a 2026-07-28 client without the capability", () => {
  let dir: TempDir;
  let client: Client;

  beforeAll(async () => {
    dir = await tempDir("amcp-bridge-modern-nocap-");
    const config = await writeConfig(dir.dir, { mcpServers: { modern: v2Entry("modern") } });
    client = await modernClient(config, { sampling: {} });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await dir?.cleanup();
  });

  it("gets -32021 naming the capability; later calls are fine", async () => {
    await expect(
      call(client, { name: "modern_confirm_modern", arguments: { question: "q" } }),
    ).rejects.toMatchObject({ code: -32021 });
    const sampled = (await client.callTool({
      name: "modern_sample_modern",
      arguments: { prompt: "p" },
    })) as Result;
    expect(sampled["content"]).toBeDefined();
  });
});
