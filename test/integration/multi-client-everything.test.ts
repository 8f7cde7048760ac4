import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import {
  everythingEntry,
  memoryEntry,
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * Several real SDK clients on one HTTP front with the real `@modelcontextprotocol/server-everything`
 * behind it (per-client by default: it has no built-in profile) and server-memory (shared by its profile).
 */

const SAMPLING_TOOL = "everything_trigger-sampling-request";
const ROOTS_TOOL = "everything_get-roots-list";

function textOf(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

async function hasTool(client: Client, name: string): Promise<boolean> {
  return (await client.listTools()).tools.some((t) => t.name === name);
}

function withRoots(client: Client, uri: string): void {
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri, name: uri }] }));
}

describe("multi-client isolation with server-everything", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { everything: everythingEntry(), memory: memoryEntry(tmp.dir) },
    });
    h = await startHttp(config);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("keeps the roots of A and B apart", async () => {
    const a = await h.connect({ roots: { listChanged: true } });
    withRoots(a, "file:///home/a/private");
    const b = await h.connect({ roots: { listChanged: true } });
    withRoots(b, "file:///home/b/private");
    await waitFor(() => hasTool(a, ROOTS_TOOL));
    await waitFor(() => hasTool(b, ROOTS_TOOL));
    const aRoots = textOf(await a.callTool({ name: ROOTS_TOOL, arguments: {} }));
    const bRoots = textOf(await b.callTool({ name: ROOTS_TOOL, arguments: {} }));
    expect(aRoots).toContain("file:///home/a/private");
    expect(aRoots).not.toContain("file:///home/b/private");
    expect(bRoots).toContain("file:///home/b/private");
    expect(bRoots).not.toContain("file:///home/a/private");
  });

  it("offers capability-gated tools only to clients that declared the capability", async () => {
    const plain = await h.connect({});
    const sampler = await h.connect({ sampling: {} });
    await waitFor(() => hasTool(sampler, SAMPLING_TOOL));
    const names = (await plain.listTools()).tools.map((t) => t.name);
    expect(names).toContain("everything_echo");
    expect(names).not.toContain(SAMPLING_TOOL);
    expect(names).not.toContain(ROOTS_TOOL);
    expect(names).not.toContain("everything_trigger-elicitation-request");
    // The shared memory server is listed to both.
    expect(names.filter((n) => n.startsWith("memory_"))).toHaveLength(9);
  });

  it("gives A and B, sampling at the same time, each their own prompt and their own answer", async () => {
    const a = await h.connect({ sampling: {} });
    const b = await h.connect({ sampling: {} });
    const prompts: { A: string[]; B: string[] } = { A: [], B: [] };
    // Each model answers only once both have been asked (or after 5 s): both requests are in flight together.
    const answer = (client: Client, name: "A" | "B"): void =>
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const content = request.params.messages[0]?.content;
        prompts[name].push(content && "text" in content ? String(content.text) : "");
        await waitFor(() => prompts.A.length > 0 && prompts.B.length > 0, 5_000).catch(() => undefined);
        return { model: name, role: "assistant", content: { type: "text", text: `answer-from-${name}` } };
      });
    answer(a, "A");
    answer(b, "B");
    await waitFor(() => hasTool(a, SAMPLING_TOOL));
    await waitFor(() => hasTool(b, SAMPLING_TOOL));
    const [ra, rb] = await Promise.all([
      a.callTool({ name: SAMPLING_TOOL, arguments: { prompt: "question-of-A", maxTokens: 5 } }),
      b.callTool({ name: SAMPLING_TOOL, arguments: { prompt: "question-of-B", maxTokens: 5 } }),
    ]);
    expect(textOf(ra)).toContain("answer-from-A");
    expect(textOf(ra)).not.toContain("answer-from-B");
    expect(textOf(rb)).toContain("answer-from-B");
    expect(prompts.A).toHaveLength(1);
    expect(prompts.A[0]).toContain("question-of-A");
    expect(prompts.B).toHaveLength(1);
    expect(prompts.B[0]).toContain("question-of-B");
  });
});
