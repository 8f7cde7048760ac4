import { describe, expect, it } from "vitest";
import { parseConfig, type LoadedConfig, type ResolvedServer } from "../../src/config/load.js";
import { MAX_JSON_DEPTH, parseJsonc } from "../../src/config/jsonc.js";
import { AggregatorError, isAggregatorError } from "../../src/errors.js";

/**
 * The config lint table: what other clients' files carry (foreign placeholders, literal secrets,
 * duplicate keys, unknown top-level keys, `disabled`, JSONC) and syntax errors — each with its exact
 * message and JSON path. Nothing else in the file may be lost or reported.
 */

const SOURCE = "servers.config.json";

function load(text: string, env: Record<string, string> = {}): LoadedConfig {
  return parseConfig(text, SOURCE, { env });
}

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
    const problems = (error as AggregatorError).details["problems"] as string[];
    expect((error as Error).message).toBe(problems.join("\n"));
    return problems;
  }
  throw new Error("expected CONFIG_INVALID");
}

function server(loaded: LoadedConfig, name: string): ResolvedServer {
  const found = loaded.servers.find((s) => s.name === name);
  if (!found) throw new Error(`no server ${name}`);
  return found;
}

/** A file with one server `s` whose entry is `entry`, next to a plain server `ok` that must survive. */
const withEntry = (entry: Record<string, unknown>): string =>
  JSON.stringify({ mcpServers: { s: entry, ok: { command: "ok-server" } } }, null, 2);

describe("foreign placeholders", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "${env:VAR} (VS Code / Cursor)",
      { command: "x", env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${env:GITHUB_TOKEN}" } },
      "mcpServers.s.env.GITHUB_PERSONAL_ACCESS_TOKEN: ${env:GITHUB_TOKEN} is VS Code/Cursor syntax; write ${GITHUB_TOKEN} (expanded the same way)",
    ],
    [
      "$VAR (shell)",
      { command: "x", args: ["--root", "$HOME/data"] },
      "mcpServers.s.args[1]: $HOME is shell syntax and is not expanded; write ${HOME}",
    ],
    [
      "%VAR% (Windows)",
      { command: "x", cwd: "%USERPROFILE%\\mcp" },
      "mcpServers.s.cwd: %USERPROFILE% is Windows syntax and is not expanded; write ${USERPROFILE}",
    ],
    [
      "unterminated ${VAR",
      { url: "https://h/mcp", headers: { "X-Org": "${ORG_ID" } },
      'mcpServers.s.headers.X-Org: "${" without a closing "}" is passed on as written; write ${ORG_ID}',
    ],
    [
      "${workspaceFolder} (VS Code variable)",
      { command: "x", args: ["${workspaceFolder}/src"] },
      "mcpServers.s.args[0]: ${workspaceFolder} is a VS Code variable, read here as an environment variable of that name; write an absolute path or ${VAR}",
    ],
    [
      "${userHome} (VS Code variable)",
      { command: "x", cwd: "${userHome}/mcp" },
      "mcpServers.s.cwd: ${userHome} is a VS Code variable, read here as an environment variable of that name; write ${HOME}",
    ],
    [
      "{{VAR}} (templates)",
      { url: "https://h/mcp?team={{TEAM}}" },
      "mcpServers.s.url: {{TEAM}} is template syntax and is not expanded; write ${TEAM}",
    ],
  ])("warns about %s with its path and the ${VAR} form, and loads", (_name, entry, warning) => {
    const loaded = load(withEntry(entry));
    expect(loaded.warnings).toEqual([`${SOURCE}: ${warning}`]);
    expect(loaded.servers.map((s) => s.name)).toEqual(["ok", "s"]);
    expect(server(loaded, "ok").skipReason).toBeUndefined();
  });

  it("expands ${env:VAR} like ${VAR}: the server never receives the placeholder", () => {
    const entry = { command: "x", env: { T: "${env:GITHUB_TOKEN}" }, args: ["${env:MISSING}"] };
    expect(server(load(withEntry(entry), { GITHUB_TOKEN: "ghp_1" }), "s")).toMatchObject({
      env: { T: "ghp_1" },
      args: [""],
      skipReason: "set MISSING",
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "${input:id} (VS Code input prompt)",
      { command: "x", env: { GITHUB_PERSONAL_ACCESS_TOKEN: "${input:github_token}" } },
      "mcpServers.s.env.GITHUB_PERSONAL_ACCESS_TOKEN: ${input:github_token} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${GITHUB_TOKEN}",
    ],
    [
      "${input:id} inside a header value",
      { url: "https://h/mcp", headers: { Authorization: "Bearer ${input:api-key}" } },
      "mcpServers.s.headers.Authorization: ${input:api-key} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write ${API_KEY}",
    ],
    [
      "${command:id} (other VS Code variables)",
      { command: "x", args: ["${command:pickFile}"] },
      "mcpServers.s.args[0]: ${command:pickFile} is VS Code syntax and cannot be resolved here (it would reach the server as written); set an environment variable and write ${PICK_FILE}",
    ],
  ])("refuses %s (CONFIG_INVALID) with its path", (_name, entry, problem) => {
    expect(problemsOf(withEntry(entry))).toEqual([`${SOURCE}: ${problem}`]);
  });

  it("lists every placeholder of every server, in the VS Code `servers` map too", () => {
    const text = JSON.stringify({
      servers: { a: { command: "x", args: ["$HOME", "%APPDATA%"] } },
      mcpServers: { b: { command: "${env:BIN}" } },
    });
    expect(load(text, { BIN: "bin" }).warnings).toEqual([
      `${SOURCE}: mcpServers.b.command: \${env:BIN} is VS Code/Cursor syntax; write \${BIN} (expanded the same way)`,
      `${SOURCE}: servers.a.args[0]: $HOME is shell syntax and is not expanded; write \${HOME}`,
      `${SOURCE}: servers.a.args[1]: %APPDATA% is Windows syntax and is not expanded; write \${APPDATA}`,
    ]);
  });

  it("says nothing about our own forms, $$, lower-case $words, URL escapes or unexpanded fields", () => {
    const entry = {
      command: "x",
      args: ["${A}", "${B:-d}", "$$", "pa$sword", "%E2%80%99", "100%", "${A}}"],
      env: { PATH_LIST: "a:b" },
      prefix: "$HOME",
      tools: { overrides: { t: { description: "{{VAR}} ${input:x}" } } },
    };
    const loaded = load(withEntry(entry), { A: "a" });
    expect(loaded.warnings).toEqual([]);
    expect(server(loaded, "s").args).toEqual(["a", "d", "$$", "pa$sword", "%E2%80%99", "100%", "a}"]);
  });
});

describe("literal secrets", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "a token in env",
      { command: "x", env: { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_abcdef123456" } },
      'mcpServers.s.env.GITHUB_PERSONAL_ACCESS_TOKEN: looks like a secret written into the file; set it in the environment and write "${GITHUB_PERSONAL_ACCESS_TOKEN}"',
    ],
    [
      "an API key in env (camelCase key)",
      { command: "x", env: { trelloApiKey: "abc123def456" } },
      'mcpServers.s.env.trelloApiKey: looks like a secret written into the file; set it in the environment and write "${TRELLO_API_KEY}"',
    ],
    [
      "a password in env",
      { command: "x", env: { DB_PASSWORD: "hunter22" } },
      'mcpServers.s.env.DB_PASSWORD: looks like a secret written into the file; set it in the environment and write "${DB_PASSWORD}"',
    ],
    [
      "a bearer token in headers",
      { url: "https://h/mcp", headers: { Authorization: "Bearer sk-live-123456" } },
      'mcpServers.s.headers.Authorization: looks like a secret written into the file; set it in the environment and write "Bearer ${S_TOKEN}"',
    ],
    [
      "an x-api-key header",
      { url: "https://h/mcp", headers: { "x-api-key": "k-123456789" } },
      'mcpServers.s.headers.x-api-key: looks like a secret written into the file; set it in the environment and write "${S_TOKEN}"',
    ],
  ])("warns about %s without echoing it", (_name, entry, warning) => {
    const loaded = load(withEntry(entry));
    expect(loaded.warnings).toEqual([`${SOURCE}: ${warning}`]);
    expect(loaded.warnings.join("\n")).not.toMatch(/ghp_abc|abc123|hunter|sk-live|k-1234/);
    expect(server(loaded, "s").skipReason).toBeUndefined();
  });

  it("warns about a requestState key written into the file, and not about a reference", () => {
    const literal = load(
      JSON.stringify({ mcpServers: { s: { command: "x" } }, security: { requestStateKey: "x".repeat(40) } }),
    );
    expect(literal.warnings).toEqual([
      `${SOURCE}: security.requestStateKey: looks like a secret written into the file; set it in the environment and write "\${MCP_STATE_KEY}" (or set AUTONOMOUS_MCP_STATE_KEY)`,
    ]);
    expect(literal.warnings.join("\n")).not.toMatch(/xxxx/);
    const reference = load(
      JSON.stringify({
        mcpServers: { s: { command: "x" } },
        security: { requestStateKey: "${MCP_STATE_KEY}" },
      }),
    );
    expect(reference.warnings).toEqual([]);
  });

  it("accepts references, settings and keys that only look alike", () => {
    const entry = {
      command: "x",
      env: {
        GITHUB_TOKEN: "${GITHUB_TOKEN}",
        API_KEY: "${API_KEY:-}",
        OTHER_TOKEN: "${env:OTHER_TOKEN}",
        AUTH_ENABLED: "true",
        TOKEN_TTL: "3600",
        EMPTY_SECRET: "",
        MEMORY_FILE_PATH: "/data/memory.jsonl",
        MONKEY_NAME: "george",
        PATTERN: "x",
      },
      headers: { Authorization: "Bearer ${T}" },
    };
    expect(load(withEntry(entry), { GITHUB_TOKEN: "g", OTHER_TOKEN: "o", T: "t" }).warnings).toEqual([
      `${SOURCE}: mcpServers.s.env.OTHER_TOKEN: \${env:OTHER_TOKEN} is VS Code/Cursor syntax; write \${OTHER_TOKEN} (expanded the same way)`,
    ]);
  });
});

describe("duplicate keys", () => {
  it("refuses a duplicated server key, naming both places (JSON.parse would drop the first)", () => {
    const text = `{
  "mcpServers": {
    "github": { "command": "first" },
    "github": { "command": "second" },
    "ok": { "command": "ok-server" }
  }
}`;
    expect(problemsOf(text)).toEqual([
      `${SOURCE}: mcpServers.github: duplicate key (line 4, column 5; first at line 3, column 5)`,
    ]);
  });

  it("refuses duplicates at the top level and nested, each with its path, along with other problems", () => {
    const text = `{
  "logLevel": "info",
  "mcpServers": { "s": { "command": "x", "env": { "A": "1", "B": "2", "A": "3" }, "args": [{ "k": 1, "k": 2 }] } },
  "logLevel": "debug"
}`;
    expect(problemsOf(text)).toEqual([
      `${SOURCE}: mcpServers.s.env.A: duplicate key (line 3, column 71; first at line 3, column 51)`,
      `${SOURCE}: mcpServers.s.args[0].k: duplicate key (line 3, column 102; first at line 3, column 94)`,
      `${SOURCE}: logLevel: duplicate key (line 4, column 3; first at line 2, column 3)`,
      `${SOURCE}: mcpServers.s.args[0]: expected string, got object`,
    ]);
  });

  it("still reports the problems and warnings of the entry a duplicate replaced, and every warning", () => {
    const text = `{
  "mcpServers": {
    "a": { "command": "x", "args": ["\${input:tok}", "$BAR"] },
    "h": { "url": "https://h/mcp", "headers": { "X-D": "\${input:key}", "X-A": "%TOKEN%" } },
    "a": { "command": "y" }
  },
  "mcpServer": {}
}`;
    let error: AggregatorError | undefined;
    try {
      load(text);
    } catch (e) {
      error = e as AggregatorError;
    }
    expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
    expect(error?.details["problems"]).toEqual([
      `${SOURCE}: mcpServers.a: duplicate key (line 5, column 5; first at line 3, column 5)`,
      `${SOURCE}: mcpServers.h.headers.X-D: \${input:key} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write \${KEY}`,
      `${SOURCE}: mcpServers.a.args[0]: \${input:tok} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write \${TOK} (in the first mcpServers.a, line 3, column 5)`,
    ]);
    // Warnings are not lost when there are errors.
    expect(error?.details["warnings"]).toEqual([
      `${SOURCE}: mcpServer: unknown key (ignored; did you mean "mcpServers"?)`,
      `${SOURCE}: mcpServers.h.headers.X-A: %TOKEN% is Windows syntax and is not expanded; write \${TOKEN}`,
      `${SOURCE}: mcpServers.a.args[1]: $BAR is shell syntax and is not expanded; write \${BAR} (in the first mcpServers.a, line 3, column 5)`,
    ]);
  });

  it("reports a server's resolution problem along with a duplicate key elsewhere", () => {
    const text = `{
  "logLevel": "info",
  "logLevel": "debug",
  "mcpServers": { "s": { "command": "x", "retry": { "minTimeoutMs": 500, "maxTimeoutMs": 100 } } }
}`;
    expect(problemsOf(text)).toEqual([
      `${SOURCE}: logLevel: duplicate key (line 3, column 3; first at line 2, column 3)`,
      `${SOURCE}: mcpServers.s.retry: minTimeoutMs (500) must be <= maxTimeoutMs (100)`,
    ]);
  });

  it("quotes odd keys in the path", () => {
    expect(problemsOf('{"mcpServers": {"a.b": {"command": "x", "command": "y"}}}')).toEqual([
      `${SOURCE}: mcpServers["a.b"].command: duplicate key (line 1, column 41; first at line 1, column 25)`,
    ]);
  });
});

describe("unknown top-level keys", () => {
  it("warns about each, with a suggestion for a near miss, and keeps loading", () => {
    const text = JSON.stringify({
      mcpServer: { x: { command: "x" } },
      globalShortcut: "Ctrl+Space",
      inputs: [],
      logLevle: "debug",
      mcpServers: { ok: { command: "ok-server" } },
    });
    const loaded = load(text);
    expect(loaded.warnings).toEqual([
      `${SOURCE}: mcpServer: unknown key (ignored; did you mean "mcpServers"?)`,
      `${SOURCE}: globalShortcut: unknown key (ignored)`,
      `${SOURCE}: inputs: unknown key (ignored; VS Code inputs are not supported: use \${VAR} references)`,
      `${SOURCE}: logLevle: unknown key (ignored; did you mean "logLevel"?)`,
    ]);
    expect(loaded.servers.map((s) => s.name)).toEqual(["ok"]);
  });

  it("accepts $schema and $comment without a word", () => {
    const text = JSON.stringify({
      $schema: "./schema/servers.config.schema.json",
      $comment: "mine",
      mcpServers: { ok: { command: "ok-server" } },
    });
    expect(load(text).warnings).toEqual([]);
  });
});

describe("disabled", () => {
  it('skips "disabled": true with the reason "disabled in config", like "enabled": false', () => {
    const text = JSON.stringify({
      mcpServers: {
        off: { command: "x", disabled: true },
        off2: { command: "x", enabled: false },
        on: { command: "x", disabled: false },
      },
    });
    const loaded = load(text);
    expect(loaded.warnings).toEqual([]);
    expect(server(loaded, "off").skipReason).toBe("disabled in config");
    expect(server(loaded, "off2").skipReason).toBe("disabled in config");
    expect(server(loaded, "on").skipReason).toBeUndefined();
  });

  it("refuses a contradiction and a wrong type, with their paths", () => {
    expect(problemsOf(withEntry({ command: "x", enabled: true, disabled: true }))).toEqual([
      `${SOURCE}: mcpServers.s: "enabled": true and "disabled": true contradict each other; keep one`,
    ]);
    expect(problemsOf(withEntry({ command: "x", disabled: "yes" }))).toEqual([
      `${SOURCE}: mcpServers.s.disabled: expected boolean, got string`,
    ]);
  });
});

describe("JSONC", () => {
  it("accepts comments and trailing commas (VS Code mcp.json) and keeps // inside strings", () => {
    const text = `// my servers
{
  /* block
     comment */
  "mcpServers": {
    "fetch": {
      "command": "uvx", // trailing comment
      "args": ["mcp-server-fetch", "--ua=//not-a-comment", "/* nor this */",],
    },
  },
}
`;
    const loaded = load(text);
    expect(loaded.warnings).toEqual([]);
    expect(server(loaded, "fetch").args).toEqual([
      "mcp-server-fetch",
      "--ua=//not-a-comment",
      "/* nor this */",
    ]);
  });

  it("reads a __proto__ key as data, never as the prototype", () => {
    const parsed = parseJsonc('{"__proto__": {"polluted": true}, "a": 1}');
    expect(Object.getOwnPropertyNames(parsed.value)).toEqual(["__proto__", "a"]);
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("syntax errors", () => {
  it.each<[string, string, string]>([
    [
      "a missing colon",
      '{\n  "mcpServers": {\n    "a": { "command" "x" }\n  }\n}',
      "line 3, column 22: expected ':' after the property name",
    ],
    ["a missing comma", '{\n  "a": 1\n  "b": 2\n}', "line 3, column 3: expected ',' between items"],
    ["a missing value", '{\n  "a": }', "line 2, column 8: expected a value"],
    ["an unclosed object", '{"a": 1', "line 1, column 8: expected '}'"],
    ["an unclosed array", '{"a": [1, 2', "line 1, column 12: expected ']'"],
    ["an unterminated string", '{"a": "x', "line 1, column 7: unterminated string"],
    ["an unterminated comment", '{"a": 1 /* note', "line 1, column 9: unterminated /* comment"],
    ["a single-quoted key", "{'a': 1}", "line 1, column 2: unexpected character"],
    ["text after the document", '{"a": 1} x', "line 1, column 10: unexpected character"],
    [
      "a raw tab in a string",
      '{"a": "x\ty"}',
      "line 1, column 7: control character in a string (write it as an escape)",
    ],
  ])("names line and column of %s", (_name, text, message) => {
    expect(problemsOf(text)).toEqual([`${SOURCE}: invalid JSON at ${message}`]);
  });

  it("says an empty file is empty", () => {
    expect(problemsOf("")).toEqual([`${SOURCE}: invalid JSON: the file is empty`]);
    expect(problemsOf("\uFEFF \n")).toEqual([`${SOURCE}: invalid JSON: the file is empty`]);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels before parsing it`, () => {
    const text = `{"workflows": {"w": ${"[".repeat(5_000)}${"]".repeat(5_000)}}}`;
    expect(problemsOf(text)).toEqual([
      `${SOURCE}: invalid JSON at line 1, column ${21 + MAX_JSON_DEPTH - 2}: nested deeper than ${MAX_JSON_DEPTH} levels`,
    ]);
  });
});
