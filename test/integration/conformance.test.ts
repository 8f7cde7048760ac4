import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/aggregator.js";

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, "active" suite)
 * against our Streamable HTTP front, with test/fixtures/conformance-server.mjs behind it under prefix "".
 * test/conformance/run.mjs does the work; this test asserts that every active scenario passes.
 */
function runSuite(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "test", "conformance", "run.mjs")], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

describe("official MCP conformance suite through the aggregator", () => {
  it("passes every active server scenario", async () => {
    const { code, output } = await runSuite();
    const total = /Total: (\d+) passed, (\d+) failed/.exec(output);
    expect(total, output).not.toBeNull();
    const [, passed, failed] = total!;
    const scenarios = [...output.matchAll(/^([✓✗]) ([\w-]+): (\d+) passed, (\d+) failed/gm)];
    const failing = scenarios.filter((m) => m[1] !== "✓" || m[4] !== "0").map((m) => m[2]);
    expect(failing, output).toEqual([]);
    // 0.1.13's active suite: 30 scenarios (json-schema-2020-12 and server-sse-polling are pending).
    expect(scenarios.length, output).toBeGreaterThanOrEqual(30);
    expect(Number(failed), output).toBe(0);
    expect(Number(passed), output).toBeGreaterThanOrEqual(40);
    expect(code, output).toBe(0);
  }, 180_000);
});
