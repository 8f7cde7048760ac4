import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import {
  everythingEntry,
  memoryEntry,
  startStdio,
  tempDir,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

const ENTRY_SECRET = "entry-secret-value-7f3a9c";
const HEADER_SECRET = "header-secret-value-2b8d1e";
const PARENT_SECRET = "parent-only-secret-5c6e0a";

describe("secret hygiene", () => {
  let tmp: TempDir;
  let h: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        memory: memoryEntry(tmp.dir),
        everything: everythingEntry({ env: { EVERYTHING_API_KEY: ENTRY_SECRET } }),
        remote: {
          url: "http://127.0.0.1:9/mcp",
          headers: { Authorization: `Bearer ${HEADER_SECRET}` },
          connectTimeoutMs: 2000,
          restart: { maxRestarts: 1 },
        },
      },
    });
    h = await startStdio(config, {
      env: { AUTONOMOUS_MCP_LOG_LEVEL: "debug", PARENT_ONLY_SECRET: PARENT_SECRET },
    });
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("gives a child only the base environment plus its entry's env", async () => {
    const result = (await h.client.callTool({ name: "everything_get-env", arguments: {} })) as CallToolResult;
    const text = JSON.stringify(result.content);
    expect(text).toContain("EVERYTHING_API_KEY");
    expect(text).not.toContain(PARENT_SECRET);
    expect(text).not.toContain("PARENT_ONLY_SECRET");
  });

  it("never writes config env values, header values or bearer tokens to the log, even at debug", async () => {
    await h.client.callTool({ name: "everything_echo", arguments: { message: "log me" } });
    await h.client.callTool({ name: "status", arguments: {} });
    await new Promise((r) => setTimeout(r, 300));
    const log = h.stderr();
    // Debug logging really ran (every call is logged at debug), so the absence below means something.
    expect(log).toMatch(/"level":20.*"tool":"echo"/);
    expect(log).not.toContain(ENTRY_SECRET);
    expect(log).not.toContain(HEADER_SECRET);
    expect(log).not.toContain(PARENT_SECRET);
  });
});
