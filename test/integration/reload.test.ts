import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  memoryEntry,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

function text(r: unknown): string {
  return ((r as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

describe("hot reload", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let configPath: string;
  let changed = 0;
  const base = (dir: string): Record<string, unknown> => ({
    mcpServers: {
      memory: memoryEntry(dir),
      slowpoke: faultServerEntry("normal"),
      doomed: faultServerEntry("normal"),
    },
  });

  beforeAll(async () => {
    tmp = await tempDir();
    configPath = await writeConfig(tmp.dir, base(tmp.dir));
    h = await startStdio(configPath);
    h.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("keeps the running config when the new file is invalid, and says why", async () => {
    await writeFile(configPath, '{"mcpServers": {"memory": {"command": 42}}}');
    await waitFor(() => /config change rejected/.test(h.stderr()), 10_000);
    expect(h.stderr()).toMatch(/mcpServers\.memory\.command: expected string, got number/);
    const { tools } = await h.client.listTools();
    expect(tools.some((t) => t.name === "doomed_echo")).toBe(true);
  });

  it("adds, removes and restarts only what changed; calls in flight to unchanged servers finish", async () => {
    const pidOf = async (name: string): Promise<number> =>
      (JSON.parse(text(await h.client.callTool({ name: `${name}_stats`, arguments: {} }))) as { pid: number })
        .pid;
    const slowPid = await pidOf("slowpoke");
    const inFlight = h.client.callTool({ name: "slowpoke_slow", arguments: { ms: 1500 } });
    const before = changed;
    const next = base(tmp.dir) as { mcpServers: Record<string, unknown> };
    delete next.mcpServers["doomed"];
    next.mcpServers["fresh"] = faultServerEntry("normal");
    next.mcpServers["memory"] = { ...(next.mcpServers["memory"] as object), timeoutMs: 30_000 };
    await writeFile(configPath, JSON.stringify(next));
    await waitFor(() => /config reloaded/.test(h.stderr()), 15_000);
    expect(h.stderr()).toMatch(/added: fresh; removed: doomed; restarted: memory/);
    expect(text(await inFlight)).toContain("done");
    expect(await pidOf("slowpoke")).toBe(slowPid);
    const { tools } = await h.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain("fresh_echo");
    expect(names).not.toContain("doomed_echo");
    expect(names).toContain("memory_read_graph");
    await waitFor(() => changed > before);
  });
});
