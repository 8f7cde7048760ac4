/**
 * The built CLI as shipped: dist/cli.js is a stub over the esbuild bundle in dist/chunks/ (scripts/bundle.mjs),
 * and the opt-in heap governor of src/heap.ts runs in it when AUTONOMOUS_MCP_HEAP asks for it (test/integration/heap-governor.test.ts: off by default).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  everythingEntry,
  ROOT,
  startStdio,
  tempDir,
  writeConfig,
  type TempDir,
} from "../helpers/aggregator.js";

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
  });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

describe("built CLI", () => {
  let tmp: TempDir;
  let config: string;
  beforeAll(async () => {
    tmp = await tempDir();
    config = await writeConfig(tmp.dir, { mcpServers: { everything: everythingEntry() } });
  });
  afterAll(() => tmp.cleanup());

  it("is the bundle, and finds package.json from inside it", () => {
    expect(readFileSync(CLI, "utf8")).toMatch(/^#!\/usr\/bin\/env node\nimport "\.\/chunks\/cli\.js";/);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(cli(["--version"])).toEqual({ code: 0, out: `${pkg.version}\n` });
  });

  it("loads neither the SDK nor all of zod before it spawns the servers (the CLI's static imports)", () => {
    const chunks = path.join(ROOT, "dist", "chunks");
    // esbuild's metafile names the modules that went into each chunk.
    const meta = JSON.parse(readFileSync(path.join(ROOT, "dist", "bundle-meta.json"), "utf8")) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    const seen = new Set<string>();
    const todo = ["cli.js"];
    const modules: string[] = [];
    for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(path.join(chunks, file), "utf8");
      // Static imports only (minified: `import{a}from"./chunk-X.js";import"./chunk-Y.js"`); import() is not.
      for (const m of text.matchAll(/\bimport\s*(?:[^;"()]*?from\s*)?"\.\/([^"]+)"/g))
        if (m[1]) todo.push(m[1]);
      const output = meta.outputs[`dist/chunks/${file}`];
      expect(output, `dist/chunks/${file} in bundle-meta.json`).toBeDefined();
      modules.push(...Object.keys(output?.inputs ?? {}));
    }
    expect(seen.size).toBeGreaterThan(1);
    expect(modules.some((m) => m.startsWith("node_modules/zod/"))).toBe(true);
    expect(modules.filter((m) => m.startsWith("node_modules/@modelcontextprotocol/sdk/"))).toEqual([]);
    // `import { z } from "zod"` anywhere would pull in every locale (`import * as z` is tree-shaken).
    expect(modules.filter((m) => /^node_modules\/zod\/v4\/locales\/(?!en\.js)/.test(m))).toEqual([]);
  });

  it("ships compact, ASCII-only chunks (V8 keeps a module's source as a two-byte string otherwise)", () => {
    const meta = JSON.parse(readFileSync(path.join(ROOT, "dist", "bundle-meta.json"), "utf8")) as {
      outputs: Record<string, unknown>;
    };
    const files = Object.keys(meta.outputs).filter((f) => f.endsWith(".js"));
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const text = readFileSync(path.join(ROOT, f), "utf8");
      expect(/[^\x00-\x7f]/.test(text), `${f} is ASCII`).toBe(false);
    }
  });

  it("refuses an AUTONOMOUS_MCP_HEAP it does not understand (exit 2) and accepts 'default'", () => {
    const bad = cli(["validate", "--config", config], { AUTONOMOUS_MCP_HEAP: "semi=0" });
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/AUTONOMOUS_MCP_HEAP: "semi=0" needs a whole number/);
    expect(cli(["validate", "--config", config], { AUTONOMOUS_MCP_HEAP: "default" }).code).toBe(0);
  });

  it.each<Record<string, string>>([
    {},
    { AUTONOMOUS_MCP_HEAP: "default" },
    { AUTONOMOUS_MCP_HEAP: "semi=1,growing=10" },
  ])("serves with heap setting %j", async (env) => {
    const agg = await startStdio(config, { env });
    try {
      // Enough calls for young-generation collections, in rounds within the default admission limits.
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            agg.client.callTool({ name: "everything_echo", arguments: { message: `m${round}-${i}` } }),
          ),
        );
        results.forEach((r, i) => expect(JSON.stringify(r.content)).toContain(`m${round}-${i}"`));
      }
    } finally {
      await agg.close();
    }
  });
});
