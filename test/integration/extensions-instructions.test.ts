import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  startStdio,
  tempDir,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { modernStdioClient } from "../helpers/modern.js";
import { MAX_MERGED_INSTRUCTIONS, MAX_SERVER_INSTRUCTIONS } from "../../src/extensions/instructions.js";

const FIXTURE = path.join(ROOT, "test", "fixtures", "extensions-server.mjs");
const entry = (name: string, ...args: string[]): Record<string, unknown> => ({
  command: process.execPath,
  args: [FIXTURE, "--name", name, ...args],
});

/** Downstream instructions through the aggregator's initialize: one section per server, bounded. */
describe("extensions: downstream instructions merged into ours", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let config: string;

  beforeAll(async () => {
    tmp = await tempDir();
    config = await writeConfig(tmp.dir, {
      mcpServers: {
        alpha: entry("alpha", "--instructions", "Call echo_alpha first.\u001b[31m\r\nThen show_alpha."),
        giant: entry("giant", "--instructions-size", "100000"),
        quiet: entry("quiet", "--instructions", ""),
        zz1: entry("zz1", "--instructions-size", "5000"),
        zz2: entry("zz2", "--instructions-size", "5000"),
        zz3: entry("zz3", "--instructions-size", "5000"),
      },
    });
    h = await startStdio(config);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("puts each server's instructions under its name, control characters removed", () => {
    const text = h.client.getInstructions() ?? "";
    // The escape character itself is gone (what follows it is plain text); CRLF became LF.
    expect(text).toContain("## alpha\nCall echo_alpha first.[31m\nThen show_alpha.");
    expect(text).not.toContain("\u001b");
    expect(text.indexOf("## alpha")).toBeLessThan(text.indexOf("## giant"));
    expect(text).not.toContain("## quiet");
  });

  it("cuts a huge server's instructions with a note, and leaves out servers past the total bound by name", () => {
    const text = h.client.getInstructions() ?? "";
    expect(text).toContain(
      `[autonomous-mcp: giant's instructions were cut at ${MAX_SERVER_INSTRUCTIONS} of 100000 characters]`,
    );
    expect(text.length).toBeLessThanOrEqual(MAX_MERGED_INSTRUCTIONS + 400);
    // By name: alpha, giant, zz1, zz2 fill the budget; zz3 is named instead of included.
    expect(text).toMatch(/the instructions of zz3 were left out/);
    expect(text).toContain("## zz2\n");
    expect(text).not.toContain("## zz3");
    expect((text.match(/x{4096}/g) ?? []).length).toBe(3);
  });

  it("gives a 2026-07-28 client the same instructions in its server/discover answer", async () => {
    const modern = await modernStdioClient(config);
    try {
      expect(modern.getInstructions()).toBe(h.client.getInstructions());
    } finally {
      await modern.close();
    }
  });

  it("loses nothing else: every server's tools are listed and callable", async () => {
    const tools = (await h.client.listTools()).tools.map((t) => t.name);
    for (const n of ["alpha", "giant", "quiet", "zz1", "zz2", "zz3"])
      expect(tools).toContain(`${n}_echo_${n}`);
    const r = await h.client.callTool({ name: "giant_echo_giant", arguments: { message: "hi" } });
    expect(r.content).toEqual([{ type: "text", text: "giant: hi" }]);
  });
});
