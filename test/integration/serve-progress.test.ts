import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/logger.js";
import { serve } from "../../src/serve.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import { tempDir, waitFor } from "../helpers/aggregator.js";

describe("serve on a terminal", () => {
  it("shows start-up progress (servers connected n/N) on stderr, never on stdout", async () => {
    const tmp = await tempDir();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let protocol = "";
    stdout.on("data", (c: Buffer) => (protocol += c.toString("utf8")));
    const progress: string[] = [];
    const lines: string[] = [];
    const loaded = parseConfig(
      JSON.stringify({ mcpServers: { a: faultServerEntry("normal"), b: faultServerEntry("normal") } }),
      "servers.config.json",
    );
    const running = await serve({
      loaded,
      log: createLogger({ level: "silent" }),
      transport: "stdio",
      say: (line) => void lines.push(line),
      stdin,
      stdout,
      watch: false,
      progress: true,
      progressOut: (text) => void progress.push(text),
    });
    try {
      stdin.write(
        `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`,
      );
      await waitFor(() => protocol.includes('"id":1'), 15_000);
      expect(progress.join("")).toMatch(/servers connected 1\/2 \((a|b): ready\)/);
      expect(progress.join("")).toMatch(/servers connected 2\/2 \((a|b): ready\)\x1b\[K\n$/);
      expect(protocol).not.toContain("servers connected");
      expect(lines.some((l) => /tools from 2 servers \(a, b\)/.test(l))).toBe(true);
    } finally {
      stdin.end();
      await running.stop();
      await tmp.cleanup();
    }
  });
});
