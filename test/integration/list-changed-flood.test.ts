import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * list_changed from a downstream is coalesced per server and kind (docs/resilience.md): at most one list
 * in flight and one follow-up. 10,000 notifications of each kind used to cost 10,000 lists of everything.
 */

type Counts = Record<"tools/list" | "resources/list" | "resources/templates/list" | "prompts/list", number>;

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

describe("list_changed coalescing", () => {
  let tmp: TempDir;
  let h: StdioHarness;

  const counts = async (): Promise<Counts> =>
    JSON.parse(text(await h.client.callTool({ name: "fault_list_counts", arguments: {} }))) as Counts;
  const hasTool = async (name: string): Promise<boolean> =>
    (await h.client.listTools()).tools.some((t) => t.name === name);

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: { fault: faultServerEntry("list_changed_flood") },
    });
    h = await startStdio(config);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("10,000 notifications of each kind cost a few lists of that kind, and the last change is seen", async () => {
    const before = await counts();
    expect(before["tools/list"]).toBe(1); // the start-up listing
    const flooded = await h.client.callTool({ name: "fault_flood", arguments: { count: 10_000 } });
    expect(text(flooded)).toBe("flooded 1");
    // The tool added after the flood shows up: the follow-up list saw the last notification.
    await waitFor(() => hasTool("fault_flooded_1"), 30_000);
    const after = await counts();
    // The fixture answers lists only after the flood: one list per kind in flight during it, then one
    // follow-up for everything that arrived meanwhile. Not 10,000 (or, listing everything, 30,000).
    expect(after["tools/list"] - before["tools/list"]).toBe(2);
    expect(after["resources/list"] - before["resources/list"]).toBe(2);
    expect(after["prompts/list"] - before["prompts/list"]).toBe(2);
    // A notification of one kind re-lists only that kind.
    const second = await h.client.callTool({
      name: "fault_flood",
      arguments: { count: 100, kinds: ["prompts"] },
    });
    expect(text(second)).toBe("flooded 2");
    await waitFor(() => hasTool("fault_flooded_2"), 30_000);
    const last = await counts();
    expect(last["resources/list"]).toBe(after["resources/list"]);
    expect(last["prompts/list"] - after["prompts/list"]).toBe(2);
    expect(last["tools/list"] - after["tools/list"]).toBe(1); // flooded_2's own notification
  }, 120_000);
});
