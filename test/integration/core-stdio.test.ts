import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  McpError,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  FULL_CLIENT_CAPS,
  alive,
  everythingEntry,
  memoryEntry,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

describe("aggregator over stdio in front of real servers", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  const toolsChanged: number[] = [];
  const updates: string[] = [];
  const logs: unknown[] = [];

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        memory: memoryEntry(tmp.dir, { serializeWrites: true }),
        everything: everythingEntry(),
        fault: faultServerEntry("spawn_grandchild", {
          FAULT_GRANDCHILD_PID_FILE: path.join(tmp.dir, "grandchild.pid"),
        }),
        broken: faultServerEntry("crash_at_start"),
      },
    });
    h = await startStdio(config, { capabilities: FULL_CLIENT_CAPS });
    h.client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => void toolsChanged.push(Date.now()),
    );
    h.client.setNotificationHandler(
      ResourceUpdatedNotificationSchema,
      (n) => void updates.push(n.params.uri),
    );
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    h.client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      model: "test-model",
      role: "assistant",
      content: { type: "text", text: `sampled: ${JSON.stringify(req.params.messages[0]?.content)}` },
    }));
    h.client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { name: "Ada" },
    }));
    h.client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: "file:///work/project", name: "project" }],
    }));
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("advertises the namespaced union of tools with valid, sorted names", async () => {
    // server-everything registers its client-capability tools after initialized and announces them.
    await waitFor(async () =>
      (await h.client.listTools()).tools.some((t) => t.name === "everything_trigger-sampling-request"),
    );
    const { tools } = await h.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names.filter((n) => n.startsWith("memory_"))).toHaveLength(9);
    expect(names).toContain("everything_echo");
    expect(names).toContain("fault_echo");
    expect(names).toContain("status");
    for (const n of names) expect(n).toMatch(NAME);
    expect([...names].sort()).toEqual(names);
    const echo = tools.find((t) => t.name === "everything_echo");
    expect(echo?.inputSchema).toMatchObject({ type: "object", properties: { message: { type: "string" } } });
  });

  it("routes calls and passes results through untouched", async () => {
    const echo = await h.client.callTool({ name: "everything_echo", arguments: { message: "hi" } });
    expect(text(echo)).toContain("hi");
    const structured = await h.client.callTool({
      name: "everything_get-structured-content",
      arguments: { location: "New York" },
    });
    expect(structured.structuredContent).toBeDefined();
    const image = (await h.client.callTool({
      name: "everything_get-tiny-image",
      arguments: {},
    })) as CallToolResult;
    expect(image.content.some((c) => c.type === "image")).toBe(true);
  });

  it("writes and reads the real memory server", async () => {
    await h.client.callTool({
      name: "memory_create_entities",
      arguments: {
        entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }],
      },
    });
    const graph = await h.client.callTool({ name: "memory_read_graph", arguments: {} });
    expect(text(graph)).toContain("Ada");
    const file = await readFile(path.join(tmp.dir, "memory.jsonl"), "utf8");
    expect(file).toContain("Ada");
  });

  it("answers an unknown tool with JSON-RPC -32602", async () => {
    const err = await h.client.callTool({ name: "nope_nothing", arguments: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32602);
    // The client's SDK adds one "MCP error <code>:" prefix; we must not add another.
    expect((err as McpError).message).toBe("MCP error -32602: Unknown tool: nope_nothing");
  });

  it("forwards a downstream JSON-RPC error with its code", async () => {
    const err = await h.client
      .callTool({ name: "fault_rpc_error", arguments: { code: -32050 } })
      .catch((e: unknown) => e);
    expect((err as McpError).code).toBe(-32050);
    expect((err as McpError).message).toBe("MCP error -32050: rpc error on purpose");
  });

  it("relays progress under the client's token", async () => {
    const progress: number[] = [];
    const result = await h.client.callTool(
      { name: "fault_progress", arguments: { steps: 3, delayMs: 20 } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(text(result)).toContain("progressed 3");
    // Every notification the client's SDK dispatches arrives under its own token, in order.
    expect(progress.slice(0, 2)).toEqual([1, 2]);
    expect(progress.every((p, i) => p === i + 1)).toBe(true);
  });

  it("sends the client's cancellation only to the server running the request", async () => {
    const controller = new AbortController();
    const pending = h.client.callTool({ name: "fault_hang", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 200));
    controller.abort("user pressed stop");
    await expect(pending).rejects.toThrow();
    await waitFor(async () => {
      const stats = JSON.parse(text(await h.client.callTool({ name: "fault_stats", arguments: {} }))) as {
        cancelled: unknown[];
      };
      return stats.cancelled.length > 0;
    });
  });

  it("relays sampling, elicitation and roots to the calling client", async () => {
    const sampled = await h.client.callTool({
      name: "everything_trigger-sampling-request",
      arguments: { prompt: "hello", maxTokens: 10 },
    });
    expect(text(sampled)).toContain("sampled:");
    const elicited = await h.client.callTool({
      name: "everything_trigger-elicitation-request",
      arguments: {},
    });
    expect(JSON.stringify(elicited)).toContain("Ada");
    const roots = await h.client.callTool({ name: "everything_get-roots-list", arguments: {} });
    expect(text(roots)).toContain("file:///work/project");
  });

  it("relays list_changed after a downstream adds a tool", async () => {
    const before = toolsChanged.length;
    await h.client.callTool({ name: "fault_add_tool", arguments: { name: "late_tool" } });
    await waitFor(() => toolsChanged.length > before);
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).toContain("fault_late_tool");
  });

  it("forwards resources, templates, prompts and completion", async () => {
    const { resources } = await h.client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    const first = resources[0];
    if (!first) throw new Error("no resource");
    const read = await h.client.readResource({ uri: first.uri });
    expect(read.contents[0]?.uri).toBe(first.uri);
    const { resourceTemplates } = await h.client.listResourceTemplates();
    expect(resourceTemplates.length).toBeGreaterThan(0);
    const { prompts } = await h.client.listPrompts();
    const simple = prompts.find(
      (p) => p.name.startsWith("everything_") && !(p.arguments ?? []).some((a) => a.required),
    );
    expect(simple).toBeDefined();
    const got = await h.client.getPrompt({ name: simple?.name ?? "" });
    expect(got.messages.length).toBeGreaterThan(0);
    const withArgs = prompts.find((p) => (p.arguments ?? []).length > 0 && p.name.startsWith("everything_"));
    if (withArgs?.arguments?.[0]) {
      const completion = await h.client.complete({
        ref: { type: "ref/prompt", name: withArgs.name },
        argument: { name: withArgs.arguments[0].name, value: "" },
      });
      expect(completion.completion).toBeDefined();
    }
  });

  it("delivers resources/updated to a subscribed client", async () => {
    const { resources } = await h.client.listResources();
    const target = resources.find((r) => r.uri.startsWith("demo://"));
    if (!target) throw new Error("no demo resource");
    await h.client.subscribeResource({ uri: target.uri });
    await h.client.callTool({ name: "everything_toggle-subscriber-updates", arguments: {} });
    await waitFor(() => updates.includes(target.uri), 15_000);
    await h.client.callTool({ name: "everything_toggle-subscriber-updates", arguments: {} });
    await h.client.unsubscribeResource({ uri: target.uri });
  });

  it("accepts logging/setLevel and relays downstream log messages", async () => {
    await h.client.setLoggingLevel("debug");
    await h.client.callTool({ name: "everything_toggle-simulated-logging", arguments: {} });
    await waitFor(() => logs.length > 0, 15_000);
    await h.client.callTool({ name: "everything_toggle-simulated-logging", arguments: {} });
  });

  it("keeps serving when one server fails to start, and says so", async () => {
    expect(h.stderr()).toMatch(/failed: broken/);
    const status = (await h.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
    expect(JSON.stringify(status.structuredContent)).toContain("broken");
  });

  it("leaves no process behind after the client closes stdin", async () => {
    const stats = JSON.parse(text(await h.client.callTool({ name: "fault_stats", arguments: {} }))) as {
      pid: number;
    };
    const grandchild = Number(await readFile(path.join(tmp.dir, "grandchild.pid"), "utf8"));
    const aggregatorPid = h.pid;
    expect(alive(stats.pid)).toBe(true);
    expect(alive(grandchild)).toBe(true);
    await h.close();
    await waitFor(
      () => !alive(stats.pid) && !alive(grandchild) && (aggregatorPid === undefined || !alive(aggregatorPid)),
      10_000,
    );
  });
});
