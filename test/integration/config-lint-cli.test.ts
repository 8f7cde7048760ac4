/**
 * Configs that cannot silently go wrong, through the built CLI: `validate` exit codes and lines for the
 * lint findings, `disabled: true` shown as a skip in tools/doctor/status, and server-memory's writes
 * serialized by its built-in profile when the entry (Claude Desktop shape) does not say so.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  MEMORY_BIN,
  everythingEntry,
  startStdio,
  tempDir,
  writeConfig,
  type TempDir,
} from "../helpers/aggregator.js";

function cli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; err: string; out: string } {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    timeout: 60_000,
  });
  return { code: res.status, err: res.stderr, out: res.stdout };
}

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir("amcp-lint-cli-");
});
afterAll(() => tmp.cleanup());

async function file(name: string, text: string): Promise<string> {
  const f = path.join(tmp.dir, name);
  await writeFile(f, text);
  return f;
}

describe("validate", () => {
  it("accepts a VS Code mcp.json with comments and trailing commas (exit 0)", async () => {
    const f = await file(
      "mcp.json",
      `{
  // VS Code writes JSONC
  "servers": {
    "fetch": { "type": "stdio", "command": "uvx", "args": ["mcp-server-fetch",], },
  },
}
`,
    );
    const r = cli(["validate", "--config", f]);
    expect(r.err).toBe(`${f}: valid (1 servers)\n`);
    expect(r.code).toBe(0);
  });

  it("warns about foreign placeholders and literal secrets with their paths, and exits 0", async () => {
    const f = await file(
      "warn.json",
      JSON.stringify({
        mcpServers: {
          github: {
            command: "npx",
            args: ["-y", "@modelcontextprotocol/server-github", "$HOME"],
            env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${env:GITHUB_TOKEN}" },
          },
          docs: { url: "https://h/mcp", headers: { Authorization: "Bearer sk-live-0123456789" } },
        },
      }),
    );
    const r = cli(["validate", "--config", f], { GITHUB_TOKEN: "ghp_x" });
    expect(r.err.split("\n")).toEqual([
      "warning: warn.json: mcpServers.github.args[2]: $HOME is shell syntax and is not expanded; write ${HOME}",
      "warning: warn.json: mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN: ${env:GITHUB_TOKEN} is VS Code/Cursor syntax; write ${GITHUB_TOKEN} (expanded the same way)",
      'warning: warn.json: mcpServers.docs.headers.Authorization: looks like a secret written into the file; set it in the environment and write "Bearer ${DOCS_TOKEN}"',
      `${f}: valid (2 servers)`,
      "",
    ]);
    expect(r.err).not.toContain("sk-live");
    expect(r.code).toBe(0);
  });

  it.each<[string, string, string[]]>([
    [
      "an unresolvable ${input:...}",
      JSON.stringify({
        servers: {
          gh: { command: "docker", env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${input:github_token}" } },
        },
      }),
      [
        "bad.json: servers.gh.env.GITHUB_PERSONAL_ACCESS_TOKEN: ${input:github_token} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${GITHUB_TOKEN}",
      ],
    ],
    [
      "a duplicated server key",
      '{\n  "mcpServers": {\n    "memory": { "command": "a" },\n    "memory": { "command": "b" }\n  }\n}\n',
      ["bad.json: mcpServers.memory: duplicate key (line 4, column 5; first at line 3, column 5)"],
    ],
    [
      "a syntax error",
      '{\n  "mcpServers": {\n    "memory": { "command": "a" }\n    "x": {}\n  }\n}\n',
      ["bad.json: invalid JSON at line 4, column 5: expected ',' between items"],
    ],
  ])("refuses %s (exit 2)", async (_name, text, lines) => {
    const f = await file("bad.json", text);
    const r = cli(["validate", "--config", f]);
    expect(r.err).toBe(`${lines.join("\n")}\n`);
    expect(r.code).toBe(2);
  });
});

describe("validate reports everything in one round", () => {
  it("prints the warnings with the errors, the shadowed entry's problems and the workflows' problems (exit 2)", async () => {
    const f = await file(
      "all.json",
      `{
  "mcpServers": {
    "a": { "command": "x", "args": ["\${input:tok}", "$BAR"] },
    "a": { "command": "y" }
  },
  "mcpServer": {},
  "workflows": { "wf": { "steps": "not a list" } }
}
`,
    );
    const r = cli(["validate", "--config", f]);
    const lines = r.err.trimEnd().split("\n");
    expect(lines).toContain(
      'warning: all.json: mcpServer: unknown key (ignored; did you mean "mcpServers"?)',
    );
    expect(lines).toContain(
      "warning: all.json: mcpServers.a.args[1]: $BAR is shell syntax and is not expanded; write ${BAR} (in the first mcpServers.a, line 3, column 5)",
    );
    expect(lines).toContain(
      "all.json: mcpServers.a: duplicate key (line 4, column 5; first at line 3, column 5)",
    );
    expect(lines).toContain(
      "all.json: mcpServers.a.args[0]: ${input:tok} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${TOK} (in the first mcpServers.a, line 3, column 5)",
    );
    expect(lines.some((l) => /^workflows\.wf\.steps: /.test(l))).toBe(true); // the workflows, checked too
    expect(r.err).not.toMatch(/valid \(/);
    expect(r.code).toBe(2);
  });
});

describe("disabled: true", () => {
  let config: string;
  beforeAll(async () => {
    config = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          everything: everythingEntry(),
          old: { command: "does-not-exist-anywhere", disabled: true },
        },
      },
      "disabled.json",
    );
  });

  it("is skipped with the reason in `tools` and `doctor`, and never started", () => {
    const tools = cli(["tools", "--config", config]);
    expect(tools.err).toContain("old: skipped (disabled in config)\n");
    expect(tools.out).toContain("everything_echo");
    expect(tools.code).toBe(0);
    const doctor = cli(["doctor", "--config", config, "--json"]);
    const rows = (
      JSON.parse(doctor.out) as { servers: { server: string; state: string; hint: string | null }[] }
    ).servers;
    expect(rows.find((r) => r.server === "old")).toMatchObject({
      state: "disabled",
      hint: "disabled in config",
    });
    expect(rows.find((r) => r.server === "everything")).toMatchObject({ state: "ready" });
    expect(doctor.code).toBe(0);
  });

  it("is shown as skipped with the reason by the status tool", async () => {
    const agg = await startStdio(config);
    try {
      const result = await agg.client.callTool({ name: "status", arguments: {} });
      const status = result.structuredContent as {
        servers: { name: string; state: string; skipReason?: string }[];
      };
      expect(status.servers.find((s) => s.name === "old")).toMatchObject({
        state: "skipped",
        skipReason: "disabled in config",
      });
      expect(agg.stderr()).toContain("old: skipped (disabled in config)");
    } finally {
      await agg.close();
    }
  });
});

describe("server-memory profile", () => {
  /** Entities in a server-memory JSONL file. */
  const entities = (f: string): string[] =>
    existsSync(f)
      ? readFileSync(f, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as { type: string; name?: string })
          .filter((e) => e.type === "entity")
          .map((e) => e.name ?? "")
      : [];

  it("keeps all 30 concurrent create_entities of a Claude-Desktop-shaped entry (no serializeWrites)", async () => {
    const dataDir = path.join(tmp.dir, "memory-data");
    const memoryFile = path.join(dataDir, "memory.jsonl");
    // Exactly what Claude Desktop users paste: command, args, env — nothing of ours.
    const config = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          memory: { command: process.execPath, args: [MEMORY_BIN], env: { MEMORY_FILE_PATH: memoryFile } },
        },
      },
      "memory.json",
    );
    const agg = await startStdio(config);
    try {
      const names = Array.from({ length: 30 }, (_, i) => `entity-${i}`);
      const results = await Promise.all(
        names.map((name) =>
          agg.client.callTool({
            name: "memory_create_entities",
            arguments: { entities: [{ name, entityType: "thing", observations: [`made ${name}`] }] },
          }),
        ),
      );
      for (const r of results) expect(r.isError ?? false).toBe(false);
      expect(entities(memoryFile).sort()).toEqual([...names].sort());
    } finally {
      await agg.close();
    }
  });
});

describe("published JSON Schema", () => {
  it("is written by the build next to dist/ and shipped (package.json files)", () => {
    const pkg = JSON.parse(readFileSync(path.join(CLI, "..", "..", "package.json"), "utf8")) as {
      files: string[];
    };
    expect(pkg.files).toContain("schema");
    expect(existsSync(path.join(CLI, "..", "..", "schema", "servers.config.schema.json"))).toBe(true);
  });
});
