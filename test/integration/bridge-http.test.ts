/**
 * The bridge on the HTTP front with several clients at once (docs/security.md, "Isolation between
 * clients"): two 2025-era clients (v1 SDK, one session each) and one 2026-07-28 client (v2 SDK, no
 * session) call tools that need the client's input, of a modern-only and of a 2025-era server, at the
 * same time. Every elicitation reaches the client whose call caused it, and no other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { startHttp, tempDir, writeConfig, type HttpHarness, type TempDir } from "../helpers/aggregator.js";
import { MODERN, v2Entry } from "../helpers/modern.js";
import { PassThroughResult } from "../../src/jsonrpc/passThrough.js";

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

const CAPS = { elicitation: { form: {} } };

describe("bridge: several clients on the HTTP front", () => {
  let dir: TempDir;
  let h: HttpHarness;
  let a: V1Client;
  let b: V1Client;
  let c: Client;
  const seen: Record<"a" | "b" | "c", string[]> = { a: [], b: [], c: [] };

  const answering = (client: V1Client, who: "a" | "b"): void =>
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      seen[who].push(request.params.message);
      return { action: "accept", content: { answer: who } };
    });

  beforeAll(async () => {
    dir = await tempDir("amcp-bridge-http-");
    const config = await writeConfig(dir.dir, {
      mcpServers: { modern: v2Entry("modern"), legacy: v2Entry("legacy") },
    });
    h = await startHttp(config);
    a = (await h.connect(CAPS)) as V1Client;
    b = (await h.connect(CAPS)) as V1Client;
    answering(a, "a");
    answering(b, "b");
    c = new Client(
      { name: "bridge-modern-http", version: "1.0.0" },
      { capabilities: CAPS, versionNegotiation: { mode: { pin: MODERN } } },
    );
    c.setRequestHandler("elicitation/create", async (request) => {
      seen.c.push(request.params.message);
      return { action: "accept", content: { answer: "c" } };
    });
    await c.connect(new StreamableHTTPClientTransport(new URL(h.url)));
  }, 60_000);

  afterAll(async () => {
    await c?.close().catch(() => undefined);
    await h?.close();
    await dir?.cleanup();
  });

  it("each elicitation reaches only the client whose call caused it, across generations", async () => {
    const [ra, rb, rc, la, lb, lc] = await Promise.all([
      a.callTool({ name: "modern_confirm_modern", arguments: { question: "modern for a" } }),
      b.callTool({ name: "modern_confirm_modern", arguments: { question: "modern for b" } }),
      c.callTool({ name: "modern_confirm_modern", arguments: { question: "modern for c" } }),
      a.callTool({ name: "legacy_confirm_legacy", arguments: { question: "legacy for a" } }),
      b.callTool({ name: "legacy_confirm_legacy", arguments: { question: "legacy for b" } }),
      c.callTool({ name: "legacy_confirm_legacy", arguments: { question: "legacy for c" } }),
    ]);
    expect(text(ra)).toBe("modern confirmed modern for a: a");
    expect(text(rb)).toBe("modern confirmed modern for b: b");
    expect(text(rc)).toBe("modern confirmed modern for c: c");
    expect(text(la)).toBe("legacy confirmed legacy for a: a");
    expect(text(lb)).toBe("legacy confirmed legacy for b: b");
    expect(text(lc)).toBe("legacy confirmed legacy for c: c");
    expect(seen.a.sort()).toEqual(["legacy for a", "modern for a"]);
    expect(seen.b.sort()).toEqual(["legacy for b", "modern for b"]);
    expect(seen.c.sort()).toEqual(["legacy for c", "modern for c"]);
  });

  it("two 2026-07-28 requests of one identity held at once: the second server request is refused, not guessed", async () => {
    const d = new Client(
      { name: "bridge-modern-http-2", version: "1.0.0" },
      { capabilities: CAPS, versionNegotiation: { mode: { pin: MODERN } } },
    );
    await d.connect(new StreamableHTTPClientTransport(new URL(h.url)));
    try {
      const manual = (client: Client, params: Record<string, unknown>) =>
        client.request({ method: "tools/call", params }, PassThroughResult, { allowInputRequired: true });
      // c's call is held (the legacy server waits for c's answer)...
      const first = await manual(c, { name: "legacy_confirm_legacy", arguments: { question: "held c" } });
      expect(first["resultType"]).toBe("input_required");
      // ...when d (same anonymous principal, so the same connection and id) makes the server ask again.
      const second = await manual(d, { name: "legacy_confirm_legacy", arguments: { question: "for d" } });
      expect(second["isError"]).toBe(true);
      expect(text(second)).toMatch(
        /elicitation request from legacy refused by autonomous-mcp: several 2026-07-28 requests of one client identity are in flight/,
      );
      // c's held call is untouched: its retry completes it.
      const [key] = Object.keys(first["inputRequests"] as object);
      const done = await manual(c, {
        name: "legacy_confirm_legacy",
        arguments: { question: "held c" },
        inputResponses: { [key as string]: { action: "accept", content: { answer: "c" } } },
        requestState: first["requestState"],
      });
      expect(text(done)).toBe("legacy confirmed held c: c");
    } finally {
      await d.close().catch(() => undefined);
    }
  });
});
