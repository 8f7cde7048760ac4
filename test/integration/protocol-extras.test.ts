import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListRootsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  FULL_CLIENT_CAPS,
  everythingEntry,
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * What the official conformance suite does not cover, checked through the aggregator's HTTP front:
 * pagination of a large catalog, cancellation and roots.
 */

const EXTRA = 1200;

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

describe("protocol features beyond the conformance suite, over Streamable HTTP", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        // The downstream paginates its own tools/list 100 at a time: the aggregator must follow its cursors.
        fault: faultServerEntry("normal", { TOOLS_EXTRA: String(EXTRA), PAGE_SIZE: "100" }),
        everything: everythingEntry(),
      },
    });
    h = await startHttp(config);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("paginates tools/list at 500 per page; following nextCursor yields every tool exactly once", async () => {
    const client = await h.connect();
    const seen: Tool[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      pageSizes.push(page.tools.length);
      seen.push(...page.tools);
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    expect(cursor).toBeUndefined();
    const names = seen.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    const extras = names.filter((n) => /^fault_extra_\d+$/.test(n));
    expect(extras).toHaveLength(EXTRA);
    for (let i = 0; i < EXTRA; i++) expect(names).toContain(`fault_extra_${i}`);
    expect(names).toContain("fault_echo");
    expect(names).toContain("everything_echo");
    expect(pageSizes.length).toBeGreaterThanOrEqual(3);
    expect(pageSizes.slice(0, -1).every((n) => n === 500)).toBe(true);
    expect(pageSizes[pageSizes.length - 1]).toBeLessThanOrEqual(500);
    // A tool from a late page is callable.
    expect(
      text(await client.callTool({ name: `fault_extra_${EXTRA - 1}`, arguments: { message: "last page" } })),
    ).toBe("last page");
  });

  it("answers an invalid cursor with -32602", async () => {
    const client = await h.connect();
    for (const cursor of [
      "not-a-cursor",
      Buffer.from("999999").toString("base64url"),
      Buffer.from("-1").toString("base64url"),
    ]) {
      const err = await client.listTools({ cursor }).catch((e: unknown) => e);
      expect(err, cursor).toBeInstanceOf(McpError);
      expect((err as McpError).code, cursor).toBe(-32602);
    }
  });

  it("forwards a client's cancellation to the downstream running the request", async () => {
    const client = await h.connect();
    const statsOf = async () =>
      JSON.parse(text(await client.callTool({ name: "fault_stats", arguments: {} }))) as {
        cancelled: unknown[];
        aborted: unknown[];
        calls: Record<string, number>;
      };
    const before = await statsOf();
    const controller = new AbortController();
    const pending = client.callTool({ name: "fault_hang", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await waitFor(async () => ((await statsOf()).calls["hang"] ?? 0) > (before.calls["hang"] ?? 0));
    controller.abort("user pressed stop");
    await expect(pending).rejects.toThrow();
    await waitFor(async () => {
      const s = await statsOf();
      return s.cancelled.length > before.cancelled.length && s.aborted.length > before.aborted.length;
    });
    const after = await statsOf();
    // The downstream request that was cancelled is the one it aborted (the hang call).
    expect(after.aborted).toEqual(expect.arrayContaining(after.cancelled.slice(before.cancelled.length)));
  });

  it("relays roots/list to the HTTP client and roots/list_changed to the downstream", async () => {
    const client = await h.connect(FULL_CLIENT_CAPS);
    let roots = [{ uri: "file:///work/project-a", name: "project-a" }];
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots }));
    await waitFor(async () =>
      (await client.listTools()).tools.some((t) => t.name === "everything_get-roots-list"),
    );
    const first = text(await client.callTool({ name: "everything_get-roots-list", arguments: {} }));
    expect(first).toContain("file:///work/project-a");

    roots = [{ uri: "file:///work/project-b", name: "project-b" }];
    await client.sendRootsListChanged();
    await waitFor(async () =>
      text(await client.callTool({ name: "everything_get-roots-list", arguments: {} })).includes(
        "file:///work/project-b",
      ),
    );
  });
});
