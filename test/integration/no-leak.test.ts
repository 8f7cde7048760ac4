import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { startStdio, tempDir, waitFor, writeConfig } from "../helpers/aggregator.js";

/**
 * A finished call must leave nothing behind. The symptom of the leak this pins (each call's signal
 * kept alive by a long-lived one): at shutdown, every call ever made fired the SDK's cancel and sent
 * notifications/cancelled for requests that had finished long ago.
 */
describe("finished calls leave nothing behind", () => {
  it("sends no notifications/cancelled for finished calls at shutdown", async () => {
    const tmp = await tempDir();
    const logFile = path.join(tmp.dir, "requests.log");
    try {
      const config = await writeConfig(tmp.dir, {
        mcpServers: { fault: faultServerEntry("normal", { FAULT_LOG_FILE: logFile }) },
      });
      const h = await startStdio(config);
      for (let i = 0; i < 10; i++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            h.client.callTool({ name: "fault_echo", arguments: { message: `${i}-${j}` } }),
          ),
        );
      }
      await h.close();
      await waitFor(
        async () =>
          (await readFile(logFile, "utf8")).split("\n").filter((l) => l.includes('"tools/call"')).length >=
          200,
      );
      await new Promise((r) => setTimeout(r, 300));
      const lines = (await readFile(logFile, "utf8")).split("\n").filter(Boolean);
      expect(lines.filter((l) => l.includes('"tools/call"'))).toHaveLength(200);
      expect(lines.filter((l) => l.includes("notifications/cancelled"))).toHaveLength(0);
    } finally {
      await tmp.cleanup();
    }
  });
});
