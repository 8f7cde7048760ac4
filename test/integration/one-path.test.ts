import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Aggregator } from "../../src/aggregator.js";
import { loadConfig } from "../../src/config/load.js";
import { FrontSession } from "../../src/front/session.js";
import { createLogger } from "../../src/logger.js";
import { createAggregator } from "../../src/compose.js";
import { tempDir, waitFor, writeConfig, type TempDir } from "../helpers/aggregator.js";

/**
 * docs/adr/0017: meta-tools and workflows go through observe + validate; resources/read, prompts/get and
 * completion/complete to a downstream go through its deadline, breaker and limit. One in-process
 * downstream (the SDK's Server over InMemoryTransport, handed to the pool as a prespawned transport)
 * behind a real Aggregator and FrontSession, driven by an SDK Client.
 */

interface Downstream {
  /** prompts/get of "gated" received and not yet answered. */
  readonly held: number;
  /** Answers every held prompts/get. */
  release(): void;
}

function downstream(): { transport: InMemoryTransport; state: Downstream } {
  const waiting: (() => void)[] = [];
  const state: Downstream = {
    get held() {
      return waiting.length;
    },
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
  };
  const server = new Server(
    { name: "inproc", version: "1.0.0" },
    { capabilities: { tools: {}, prompts: {}, resources: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: "echo",
        inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
        annotations: { readOnlyHint: true },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) => ({
    content: [{ type: "text", text: String(request.params.arguments?.["message"]) }],
  }));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [{ name: "gated" }] }));
  server.setRequestHandler(
    GetPromptRequestSchema,
    () =>
      new Promise((resolve) =>
        waiting.push(() =>
          resolve({ messages: [{ role: "user", content: { type: "text", text: "released" } }] }),
        ),
      ),
  );
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{ uri: "test://thing", name: "thing" }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => ({
    contents: [{ uri: request.params.uri, text: "thing" }],
  }));
  const [ours, theirs] = InMemoryTransport.createLinkedPair();
  void server.connect(theirs);
  return { transport: ours, state };
}

interface Harness {
  readonly agg: Aggregator;
  readonly client: Client;
  readonly down: Downstream;
  close(): Promise<void>;
}

async function start(dir: string): Promise<Harness> {
  const configPath = await writeConfig(dir, {
    mcpServers: {
      inproc: { command: process.execPath, args: ["-e", ""], maxConcurrency: 1, maxQueue: 0 },
    },
    workflows: {
      say: {
        description: "Echoes m.",
        input: { type: "object", properties: { m: { type: "string" } }, required: ["m"] },
        steps: [{ id: "e", tool: "inproc_echo", args: { message: "{{input.m}}" } }],
      },
    },
  });
  const loaded = await loadConfig(configPath);
  const log = createLogger({ level: "silent" });
  const { transport, state } = downstream();
  const agg = createAggregator(loaded, { log, prespawned: new Map([["inproc", { transport }]]) });
  await agg.start({}, { graceMs: loaded.config.startup.graceMs });
  const session = new FrontSession("one-path", agg, { pageSize: agg.pageSize, log, transport: "stdio" });
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await session.server.connect(serverSide);
  const client = new Client({ name: "one-path-test", version: "1.0.0" });
  await client.connect(clientSide);
  return {
    agg,
    client,
    down: state,
    close: async () => {
      state.release();
      await client.close();
      await session.close();
      await agg.close();
    },
  };
}

function text(result: unknown): string {
  const content = (result as CallToolResult).content;
  const first = content[0];
  return first?.type === "text" ? first.text : "";
}

describe("one code path (docs/adr/0017)", () => {
  let tmp: TempDir;
  let h: Harness;
  beforeEach(async () => {
    tmp = await tempDir();
    h = await start(tmp.dir);
  });
  afterEach(async () => {
    await h.close();
    await tmp.cleanup();
  });

  it("checks a meta-tool's arguments against its own inputSchema, like a downstream tool's", async () => {
    const bad = await h.client.callTool({ name: "search_tools", arguments: { query: 5 } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^Invalid arguments for search_tools: \/query: must be string/);
    const downstreamBad = await h.client.callTool({ name: "inproc_echo", arguments: { message: 5 } });
    expect(text(downstreamBad)).toMatch(/^Invalid arguments for inproc_echo: \/message: must be string/);
    // Nothing else is lost: a valid call of the same tool still answers.
    const good = await h.client.callTool({ name: "search_tools", arguments: { query: "echo" } });
    expect(good.isError).not.toBe(true);
    expect(text(good)).toContain("inproc_echo");
    expect(h.agg.stats.snapshot("autonomous-mcp")?.outcomes.invalid).toBe(1);
  });

  it("checks a workflow's arguments against its input schema before it runs", async () => {
    const bad = await h.client.callTool({ name: "say", arguments: { m: 5 } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^Invalid arguments for say: \/m: must be string/);
    // No step ran: the downstream saw no call.
    expect(h.agg.stats.snapshot("inproc")).toBeUndefined();
  });

  it("counts meta-tool and workflow calls in status under the aggregator's pseudo-server", async () => {
    expect(text(await h.client.callTool({ name: "say", arguments: { m: "hi" } }))).toContain('Output: "hi"');
    await h.client.callTool({ name: "search_tools", arguments: { query: 5 } });
    const status = await h.client.callTool({ name: "status", arguments: {} });
    const builtin = (status.structuredContent as { builtin: { name: string; calls: number; errors: number } })
      .builtin;
    // say and search_tools (status itself is counted once it has finished).
    expect(builtin).toMatchObject({ name: "autonomous-mcp", calls: 2, errors: 1 });
    expect(text(status)).toContain("autonomous-mcp (meta-tools and workflows): 2 calls, 1 errors");
    expect(h.agg.stats.snapshot("autonomous-mcp")?.calls).toBe(3);
    // The workflow's step is the downstream's call, counted there.
    expect(h.agg.stats.snapshot("inproc")?.calls).toBe(1);
  });

  it("resources/read to a server whose breaker is open fails fast with the breaker's message", async () => {
    const ok = await h.client.readResource({ uri: "test://thing" });
    expect(ok.contents[0]).toMatchObject({ uri: "test://thing", text: "thing" });
    h.agg.breakers.forceOpen("inproc", "test opened it");
    await expect(h.client.readResource({ uri: "test://thing" })).rejects.toThrow(
      /inproc is unavailable \(marked failed: test opened it\)/,
    );
    await expect(h.client.getPrompt({ name: "inproc_gated" })).rejects.toThrow(/inproc is unavailable/);
    expect(h.down.held).toBe(0);
    // Reset: the same request goes through again.
    h.agg.breakers.reset("inproc");
    expect((await h.client.readResource({ uri: "test://thing" })).contents).toHaveLength(1);
  });

  it("a prompts/get in flight holds one of the server's maxConcurrency slots", async () => {
    const prompt = h.client.getPrompt({ name: "inproc_gated" });
    await waitFor(() => h.down.held === 1);
    expect(h.agg.limiterFor("inproc").inFlight).toBe(1);
    // maxConcurrency 1, maxQueue 0: a tool call and a resources/read meanwhile are refused as busy.
    const busy = await h.client.callTool({ name: "inproc_echo", arguments: { message: "x" } });
    expect(busy.isError).toBe(true);
    expect(text(busy)).toMatch(/inproc is busy: 1 calls in flight/);
    await expect(h.client.readResource({ uri: "test://thing" })).rejects.toThrow(/inproc is busy/);
    h.down.release();
    const answered = await prompt;
    expect(answered.messages[0]?.content).toEqual({ type: "text", text: "released" });
    // The slot is free again.
    expect(h.agg.limiterFor("inproc").inFlight).toBe(0);
    expect(text(await h.client.callTool({ name: "inproc_echo", arguments: { message: "y" } }))).toBe("y");
  });
});
