import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importConfig } from "../../src/commands/import.js";
import { parseConfig } from "../../src/config/load.js";

let dir: string;
let lines: string[];
const say = (line: string): void => void lines.push(line);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "amcp-import-"));
  lines = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, content: unknown): Promise<string> {
  const file = path.join(dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
}

const SECRET = "ghp_verySecretToken123";

const desktopServers = {
  github: {
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-github"],
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: SECRET },
  },
  memory: { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"] },
  filesystem: {
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
    cwd: "/Users/me",
  },
};

describe("import", () => {
  it("imports a Claude Desktop config verbatim, writes 2-space JSON with a newline, never prints secrets", async () => {
    const file = await put("claude_desktop_config.json", {
      mcpServers: desktopServers,
      globalShortcut: "Ctrl+Space",
    });
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    const text = await readFile(out, "utf8");
    expect(text).toBe(`${JSON.stringify({ mcpServers: desktopServers }, null, 2)}\n`);
    expect(lines.slice(0, 2)).toEqual([
      'warning: mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN: looks like a secret written into the file; set it in the environment and write "${GITHUB_PERSONAL_ACCESS_TOKEN}"',
      "imported 3 servers from a Claude Desktop config: github, memory, filesystem (env values of github copied as they are; keep the file private)",
    ]);
    expect(lines.join("\n")).not.toContain(SECRET);
    expect(parseConfig(text, "servers.config.json", { env: {} }).servers.map((s) => s.name)).toEqual([
      "filesystem",
      "github",
      "memory",
    ]);
  });

  it("imports Claude Code user and project servers, suffixing differing duplicates deterministically", async () => {
    const db = (script: string) => ({ type: "stdio", command: "node", args: [script], env: {} });
    const file = await put(".claude.json", {
      numStartups: 12,
      userID: "abc",
      mcpServers: {
        context7: { type: "http", url: "https://mcp.context7.com/mcp", headers: { CONTEXT7_API_KEY: "k-1" } },
      },
      projects: {
        "/home/me/b": {
          allowedTools: [],
          mcpServers: { db: db("b.js"), sentry: { type: "sse", url: "https://mcp.sentry.dev/sse" } },
        },
        "/home/me/a": { allowedTools: [], mcpServers: { db: db("a.js") } },
        "/home/me/c": { mcpServers: { db: db("b.js") } },
        "/home/me/d": { mcpServers: { db: db("d.js") } },
        "/home/me/e": { history: [] },
      },
    });
    const out = path.join(dir, "out.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    const servers = (await readJson(out))["mcpServers"] as Record<string, unknown>;
    expect(Object.keys(servers)).toEqual(["context7", "db", "db-2", "sentry", "db-3"]);
    expect(servers).toMatchObject({
      context7: { type: "http", url: "https://mcp.context7.com/mcp", headers: { CONTEXT7_API_KEY: "k-1" } },
      db: db("a.js"),
      "db-2": db("b.js"),
      "db-3": db("d.js"),
      sentry: { type: "sse", url: "https://mcp.sentry.dev/sse" },
    });
    expect(lines).toContain('note: db (project /home/me/b): name already used, imported as "db-2"');
    expect(lines).toContain('note: db (project /home/me/c): same entry as an earlier "db", imported once');
    expect(lines).toContain('note: db (project /home/me/d): name already used, imported as "db-3"');
    expect(lines.at(-2)).toBe(
      "imported 5 servers from a Claude Code config: context7, db, db-2, sentry, db-3 (header values of context7 copied as they are; keep the file private)",
    );
  });

  it("recognises Cursor's ~/.cursor/mcp.json and drops keys it cannot use, with a warning", async () => {
    const file = await put(".cursor/mcp.json", {
      mcpServers: {
        linear: { url: "https://mcp.linear.app/sse" },
        puppeteer: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-puppeteer"],
          autoApprove: ["x"],
        },
        old: { command: "old-server", disabled: true },
      },
    });
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    expect(await readJson(out)).toEqual({
      mcpServers: {
        linear: { url: "https://mcp.linear.app/sse" },
        puppeteer: { command: "npx", args: ["-y", "@modelcontextprotocol/server-puppeteer"] },
        old: { command: "old-server", enabled: false },
      },
    });
    expect(lines).toContain("warning: puppeteer: dropped keys autonomous-mcp does not use: autoApprove");
    expect(lines).toContain("imported 3 servers from a Cursor config: linear, puppeteer, old");
  });

  it("imports VS Code mcp.json (JSONC, servers, inputs) and warns per entry about ${input:...}", async () => {
    const file = await put(
      ".vscode/mcp.json",
      `{
  // Inputs are prompted for by VS Code on first start.
  "inputs": [
    { "type": "promptString", "id": "github_token", "description": "GitHub token", "password": true },
    { "type": "promptString", "id": "api-key", "password": true },
  ],
  "servers": {
    "github": {
      "type": "stdio",
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "\${input:github_token}" }
    },
    /* a remote one */
    "perplexity": {
      "type": "http",
      "url": "https://api.example.com/mcp",
      "headers": { "Authorization": "Bearer \${input:api-key}" }
    },
    "fetch": { "type": "stdio", "command": "uvx", "args": ["mcp-server-fetch", "--ua=//not-a-comment"] },
  }
}
`,
    );
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    const servers = (await readJson(out))["mcpServers"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(servers)).toEqual(["github", "perplexity", "fetch"]);
    expect(servers["github"]?.["env"]).toEqual({ GITHUB_PERSONAL_ACCESS_TOKEN: "${input:github_token}" });
    expect(servers["perplexity"]?.["headers"]).toEqual({ Authorization: "Bearer ${input:api-key}" });
    expect(servers["fetch"]?.["args"]).toEqual(["mcp-server-fetch", "--ua=//not-a-comment"]);
    const warnings = lines.filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([
      "warning: mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN: ${input:github_token} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${GITHUB_TOKEN}; validate and serve refuse it until it is replaced",
      "warning: mcpServers.perplexity.headers.Authorization: ${input:api-key} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${API_KEY}; validate and serve refuse it until it is replaced",
    ]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^imported 3 servers from a VS Code config: github, perplexity, fetch/),
    );
  });

  it("--merge adds only new names and keeps existing entries and other keys untouched", async () => {
    const file = await put("claude_desktop_config.json", { mcpServers: desktopServers });
    const existing = {
      logLevel: "debug",
      mcpServers: { github: { command: "github-mcp", args: ["--read-only"], prefix: "gh", timeoutMs: 5000 } },
      workflows: { triage: { steps: [{ id: "a", tool: "gh_get_issue" }] } },
      exposure: "search",
    };
    const out = await put("servers.config.json", existing);
    expect(await importConfig({ file, out, merge: true, say })).toBe(0);
    const after = await readJson(out);
    expect(Object.keys(after)).toEqual(["logLevel", "mcpServers", "workflows", "exposure"]);
    expect(after).toEqual({
      ...existing,
      mcpServers: {
        ...existing.mcpServers,
        memory: desktopServers.memory,
        filesystem: desktopServers.filesystem,
      },
    });
    expect(lines).toEqual([
      `added 2 servers from a Claude Desktop config to ${out}: memory, filesystem; skipped 1 already present: github`,
    ]);

    lines = [];
    const before = await readFile(out, "utf8");
    expect(await importConfig({ file, out, merge: true, say })).toBe(0);
    expect(await readFile(out, "utf8")).toBe(before);
    expect(lines[0]).toMatch(
      /^nothing to add to .*: all 3 servers from a Claude Desktop config are already there/,
    );
  });

  it("--merge into a file with only `servers` or no servers key counts those names and adds mcpServers", async () => {
    const file = await put("claude_desktop_config.json", { mcpServers: desktopServers });
    const out = await put("servers.config.json", { servers: { memory: { command: "mem" } }, readOnly: true });
    expect(await importConfig({ file, out, merge: true, say })).toBe(0);
    expect(await readJson(out)).toEqual({
      mcpServers: { github: desktopServers.github, filesystem: desktopServers.filesystem },
      servers: { memory: { command: "mem" } },
      readOnly: true,
    });
  });

  it("refuses to overwrite an existing out file without --merge", async () => {
    const file = await put("claude_desktop_config.json", { mcpServers: desktopServers });
    const out = await put("servers.config.json", '{ "keep": true }\n');
    expect(await importConfig({ file, out, merge: false, say })).toBe(2);
    expect(await readFile(out, "utf8")).toBe('{ "keep": true }\n');
    expect(lines[0]).toMatch(/already exists; use --merge/);
  });

  it("defaults the out file to ./servers.config.json (never writing outside the injected writer)", async () => {
    const file = await put("claude_desktop_config.json", { mcpServers: { memory: desktopServers.memory } });
    const writes: [string, string][] = [];
    const write = async (f: string, t: string): Promise<void> => void writes.push([f, t]);
    const expected = path.resolve("servers.config.json");
    const code = await importConfig({ file, merge: false, say, write });
    if (code === 0) {
      expect(writes).toEqual([
        [expected, `${JSON.stringify({ mcpServers: { memory: desktopServers.memory } }, null, 2)}\n`],
      ]);
    } else {
      expect(writes).toEqual([]);
      expect(lines[0]).toBe(
        `${expected} already exists; use --merge to add to it, or --out FILE to write elsewhere`,
      );
    }
  });

  it("exits 2 on invalid JSON, a missing file, or no servers", async () => {
    const out = path.join(dir, "servers.config.json");
    const broken = await put("broken.json", '{ "mcpServers": { "a": { "command": "x" }, } ');
    expect(await importConfig({ file: broken, out, merge: false, say })).toBe(2);
    expect(lines[0]).toMatch(/^.*broken\.json: invalid JSON at line 1/);

    lines = [];
    expect(await importConfig({ file: path.join(dir, "missing.json"), out, merge: false, say })).toBe(2);
    expect(lines[0]).toMatch(/missing\.json: not found/);

    for (const content of [{ theme: "dark" }, { mcpServers: {} }, { projects: { "/x": {} } }, [1, 2]]) {
      lines = [];
      const file = await put("empty.json", content);
      expect(await importConfig({ file, out, merge: false, say })).toBe(2);
      expect(lines[0]).toMatch(/no MCP servers found|expected a JSON object/);
    }
  });

  it("converts Cursor's ${env:X} and Windows %X% to ${X}, says so, and the result loads without warnings", async () => {
    const file = await put(".cursor/mcp.json", {
      mcpServers: {
        github: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-github"],
          env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${env:GITHUB_TOKEN}" },
        },
        files: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-filesystem", "%USERPROFILE%\\Desktop"],
        },
        notes: { command: "notes-mcp", cwd: "${userHome}/notes" },
      },
    });
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    const text = await readFile(out, "utf8");
    const servers = (JSON.parse(text) as { mcpServers: Record<string, Record<string, unknown>> }).mcpServers;
    expect(servers["github"]?.["env"]).toEqual({ GITHUB_PERSONAL_ACCESS_TOKEN: "${GITHUB_TOKEN}" });
    expect(servers["files"]?.["args"]).toEqual([
      "-y",
      "@modelcontextprotocol/server-filesystem",
      "${USERPROFILE}\\Desktop",
    ]);
    expect(lines).toEqual([
      "note: mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN: converted ${env:GITHUB_TOKEN} to ${GITHUB_TOKEN}",
      "note: mcpServers.files.args[2]: converted %USERPROFILE% to ${USERPROFILE}",
      "note: mcpServers.notes.cwd: converted ${userHome} to ${HOME}",
      "imported 3 servers from a Cursor config: github, files, notes (env values of github copied as they are; keep the file private)",
      `wrote ${out}`,
    ]);
    const loaded = parseConfig(text, "servers.config.json", {
      env: { GITHUB_TOKEN: "g", USERPROFILE: "C:\\Users\\me", HOME: "/home/me" },
    });
    expect(loaded.warnings).toEqual([]);
    expect(loaded.servers.find((s) => s.name === "notes")?.cwd).toBe("/home/me/notes");
  });

  it("warns about placeholders it cannot convert and literal secrets, by path, without echoing secrets", async () => {
    const file = await put("claude_desktop_config.json", {
      mcpServers: {
        a: { command: "run", args: ["$HOME/data", "{{TEAM}}"], env: { API_TOKEN: "tok_0123456789" } },
        a2: { url: "https://h/mcp", headers: { "X-Org": "${ORG_ID" } },
      },
    });
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    expect(lines.filter((l) => l.startsWith("warning:"))).toEqual([
      "warning: mcpServers.a.args[0]: $HOME is shell syntax and is not expanded; write ${HOME}",
      "warning: mcpServers.a.args[1]: {{TEAM}} is template syntax and is not expanded; write ${TEAM}",
      'warning: mcpServers.a.env.API_TOKEN: looks like a secret written into the file; set it in the environment and write "${API_TOKEN}"',
      'warning: mcpServers.a2.headers.X-Org: "${" without a closing "}" is passed on as written; write ${ORG_ID}',
    ]);
    expect(lines.join("\n")).not.toContain("tok_0123456789");
    const servers = (await readJson(out))["mcpServers"] as Record<string, Record<string, unknown>>;
    expect(servers["a"]?.["args"]).toEqual(["$HOME/data", "{{TEAM}}"]);
  });

  it("converts ${env:X} in a VS Code mcp.json and warns about a duplicated server key in it", async () => {
    const file = await put(
      ".vscode/mcp.json",
      `{
  "servers": {
    "api": { "type": "http", "url": "https://h/mcp", "headers": { "Authorization": "Bearer \${env:API_TOKEN}" } },
    "api": { "type": "http", "url": "https://h2/mcp" },
  },
}`,
    );
    const out = path.join(dir, "servers.config.json");
    expect(await importConfig({ file, out, merge: false, say })).toBe(0);
    expect(lines[0]).toBe(
      `warning: ${file}: servers.api: duplicate key (line 4, column 5; first at line 3, column 5); the last one is imported`,
    );
    expect((await readJson(out))["mcpServers"]).toEqual({ api: { type: "http", url: "https://h2/mcp" } });
  });

  it("--merge into a JSONC file keeps its comments, formatting and $schema", async () => {
    const file = await put("claude_desktop_config.json", { mcpServers: { memory: desktopServers.memory } });
    const before = `{
  "$schema": "./schema/servers.config.schema.json",
  // my servers
  "mcpServers": {
    "github": { "command": "github-mcp" }, // read-only token
  },
  /* keep */ "logLevel": "debug",
}
`;
    const out = await put("servers.config.json", before);
    expect(await importConfig({ file, out, merge: true, say })).toBe(0);
    const after = await readFile(out, "utf8");
    expect(after).toBe(`{
  "$schema": "./schema/servers.config.schema.json",
  // my servers
  "mcpServers": {
    "github": { "command": "github-mcp" }, // read-only token
    "memory": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-memory"
      ]
    },
  },
  /* keep */ "logLevel": "debug",
}
`);
    const loaded = parseConfig(after, "servers.config.json", { env: {} });
    expect(loaded.servers.map((s) => s.name)).toEqual(["github", "memory"]);
    expect(loaded.config.logLevel).toBe("debug");
    expect(loaded.warnings).toEqual([]);
  });
});
