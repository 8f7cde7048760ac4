/**
 * The heap governor (src/heap.ts) is opt-in: by default the built CLI changes no V8 flag after start-up
 * (Node warns that this can crash the process). Observed from outside: the CLI runs under a preload
 * that records every v8.setFlagsFromString call (test/fixtures/record-v8-flags.mjs), serves real calls
 * to server-everything (enough for young-generation collections, which is when the governor acts), and
 * the record is read after it exits.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  everythingEntry,
  ROOT,
  tempDir,
  waitFor,
  writeConfig,
  type TempDir,
} from "../helpers/aggregator.js";

const PRELOAD = pathToFileURL(path.join(ROOT, "test", "fixtures", "record-v8-flags.mjs")).href;

let tmp: TempDir;
let runs = 0;
beforeAll(async () => {
  tmp = await tempDir("amcp-heap-");
});
afterAll(() => tmp.cleanup());

/** Serves `calls` echo calls through the CLI with `heap` in its config; the V8 flags the CLI process set. */
async function flagsSetWhileServing(
  heap: unknown,
  env: Record<string, string> = {},
  calls = 320,
): Promise<string[]> {
  const log = path.join(tmp.dir, `flags-${++runs}.log`);
  const config = await writeConfig(
    tmp.dir,
    { ...(heap === undefined ? {} : { heap }), mcpServers: { everything: everythingEntry() } },
    `config-${runs}.json`,
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [`--import=${PRELOAD}`, CLI, "serve", "--config", config],
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "",
      AMCP_V8_FLAGS_LOG: log,
      ...env,
    },
    stderr: "pipe",
  });
  const client = new Client({ name: "heap-test", version: "1.0.0" });
  await client.connect(transport);
  const pid = transport.pid;
  expect(pid).toBeTypeOf("number");
  try {
    // Rounds of 16 in flight: within the default admission limits.
    for (let done = 0; done < calls; done += 16) {
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          client.callTool({
            name: "everything_echo",
            arguments: { message: `m${done + i} ${"x".repeat(2000)}` },
          }),
        ),
      );
      results.forEach((r, i) => expect(JSON.stringify(r.content)).toContain(`m${done + i} `));
    }
  } finally {
    await client.close();
  }
  // The CLI exits once its client is gone (stdin closed); the record is complete then.
  await waitFor(() => {
    try {
      process.kill(pid as number, 0);
      return false;
    } catch {
      return true;
    }
  }, 15_000);
  expect(existsSync(log), "the preload ran").toBe(true);
  const mine = readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.startsWith(`${pid} `))
    .map((line) => line.slice(`${pid} `.length));
  expect(mine[0], "the preload ran in the CLI's own process").toBe("(preload loaded)");
  return mine.slice(1);
}

describe("heap governor", () => {
  it("is off by default: serving changes no V8 flag", async () => {
    expect(await flagsSetWhileServing(undefined)).toEqual([]);
  });

  it("stays off with heap.governor false, and with AUTONOMOUS_MCP_HEAP=off over heap.governor true", async () => {
    expect(await flagsSetWhileServing({ governor: false }, {}, 64)).toEqual([]);
    expect(await flagsSetWhileServing({ governor: true }, { AUTONOMOUS_MCP_HEAP: "off" }, 64)).toEqual([]);
  });

  it("is on with heap.governor true: the growth limit and the young generation's growth factor are set", async () => {
    const flags = await flagsSetWhileServing({ governor: true, growingPercent: 40 });
    expect(flags).toContain("--heap-growing-percent=40");
    expect(
      flags.some((f) => /^--semi-space-growth-factor=[12]$/.test(f)),
      flags.join(", "),
    ).toBe(true);
    expect(
      flags.every((f) => /^--(heap-growing-percent|semi-space-growth-factor)=\d+$/.test(f)),
      flags.join(", "),
    ).toBe(true);
  });

  it("is on with AUTONOMOUS_MCP_HEAP=semi=N,growing=P alone (config default)", async () => {
    const flags = await flagsSetWhileServing(undefined, { AUTONOMOUS_MCP_HEAP: "semi=2,growing=70" }, 64);
    expect(flags).toContain("--heap-growing-percent=70");
  });

  it("refuses a bad heap section before serving: exit 2, the key named, no V8 flag changed", async () => {
    const log = path.join(tmp.dir, "flags-bad.log");
    const config = await writeConfig(
      tmp.dir,
      { heap: { governor: "yes" }, mcpServers: { everything: everythingEntry() } },
      "config-bad.json",
    );
    const res = spawnSync(process.execPath, [`--import=${PRELOAD}`, CLI, "serve", "--config", config], {
      encoding: "utf8",
      input: "",
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", AMCP_V8_FLAGS_LOG: log },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/heap\.governor/);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([`${res.pid} (preload loaded)`]);
  });
});
