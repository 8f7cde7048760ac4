import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../src/config/defaults.js";
import { expandString } from "../../src/config/expand.js";
import {
  loadConfig,
  parseConfig,
  resolveConfigPath,
  type LoadedConfig,
  type ResolvedServer,
} from "../../src/config/load.js";
import { AggregatorError, isAggregatorError } from "../../src/errors.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "configs");
const SOURCE = "servers.config.json";

function parse(value: unknown, env: Record<string, string | undefined> = {}): LoadedConfig {
  return parseConfig(JSON.stringify(value), SOURCE, { env });
}

function server(loaded: LoadedConfig, name: string): ResolvedServer {
  const found = loaded.servers.find((s) => s.name === name);
  if (!found) throw new Error(`no server ${name}`);
  return found;
}

function one(entry: Record<string, unknown>, env: Record<string, string | undefined> = {}): ResolvedServer {
  return server(parse({ mcpServers: { s: entry } }, env), "s");
}

/** The problems of the CONFIG_INVALID error thrown by `fn`. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
    const problems = (error as AggregatorError).details["problems"] as string[];
    expect((error as Error).message).toBe(problems.join("\n"));
    return problems;
  }
  throw new Error("expected CONFIG_INVALID");
}

const invalid = (value: unknown): string[] => problemsOf(() => parse(value));

describe("loading", () => {
  it("loads a Claude Desktop file as-is, extra top-level keys included", async () => {
    const loaded = await loadConfig(path.join(FIXTURES, "claude-desktop.json"), {
      env: { GITHUB_TOKEN: "ghp_x" },
    });
    expect(loaded.path).toBe(path.join(FIXTURES, "claude-desktop.json"));
    expect(loaded.warnings).toEqual([
      "claude-desktop.json: globalShortcut: unknown key (ignored)",
      "claude-desktop.json: preferences: unknown key (ignored)",
    ]);
    expect(loaded.servers.map((s) => s.name)).toEqual(["github", "memory", "remote"]);
    expect(server(loaded, "github")).toMatchObject({
      type: "stdio",
      command: "npx",
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_x" },
    });
    expect(server(loaded, "github").skipReason).toBeUndefined();
    expect(server(loaded, "remote")).toMatchObject({ type: "http", headers: { Authorization: "Bearer " } });
    expect(Object.keys(loaded.config)).not.toContain("globalShortcut");
  });

  it("accepts the VS Code `servers` alias and merges it, mcpServers winning with a warning", () => {
    const loaded = parse({
      servers: { a: { command: "from-servers" }, b: { url: "http://localhost:1/mcp" } },
      mcpServers: { a: { command: "from-mcpServers" } },
    });
    expect(loaded.servers.map((s) => s.name)).toEqual(["a", "b"]);
    expect(server(loaded, "a").command).toBe("from-mcpServers");
    expect(loaded.warnings).toEqual([`${SOURCE}: servers.a: also defined in mcpServers; using mcpServers.a`]);
    expect(Object.keys(loaded.config)).not.toContain("servers");
  });

  it("sorts servers by key and warns when there are none", () => {
    expect(
      parse({ mcpServers: { b: { command: "x" }, a: { command: "y" } } }).servers.map((s) => s.name),
    ).toEqual(["a", "b"]);
    expect(parse({}).warnings).toEqual([`${SOURCE}: no servers defined (mcpServers is empty or missing)`]);
  });

  it("infers and normalises the transport type", () => {
    expect(one({ command: "x" }).type).toBe("stdio");
    expect(one({ url: "https://h/mcp" }).type).toBe("http");
    expect(one({ url: "https://h/sse" }).type).toBe("sse");
    expect(one({ url: "https://h/v1/sse/?k=1" }).type).toBe("sse");
    expect(one({ url: "https://h/ssex" }).type).toBe("http");
    expect(one({ url: "https://h/sse", type: "http" }).type).toBe("http");
    expect(one({ url: "https://h/x", type: "streamable-http" }).type).toBe("http");
    expect(one({ url: "https://h/x", type: "streamableHttp" }).type).toBe("http");
    expect(one({ url: "https://h/x", type: "sse" }).type).toBe("sse");
    expect(one({ command: "x", type: "stdio" }).type).toBe("stdio");
  });

  it("fills every default", () => {
    const loaded = parse({ mcpServers: { s: { command: "x" } } });
    expect(loaded.config).toMatchObject({
      namespaceSeparator: "_",
      maxToolNameLength: 54,
      exposure: "all",
      readOnly: false,
      logLevel: "info",
      workflows: {},
      defaults: {},
      http: {
        host: "127.0.0.1",
        port: 3000,
        path: "/mcp",
        allowedHosts: [],
        allowedOrigins: [],
        maxBodyBytes: 4_194_304,
        sessionIdleMs: 1_800_000,
        maxSessions: 100,
        rateLimit: { requestsPerSecond: 50, burst: 100 },
      },
    });
    expect(server(loaded, "s")).toEqual({
      name: "s",
      type: "stdio",
      command: "x",
      args: [],
      env: {},
      headers: {},
      enabled: true,
      prefix: "s",
      requiredEnv: [],
      trustAnnotations: true,
      readOnly: false,
      tools: { allow: [], deny: [], overrides: {} },
      maxClientConnections: 32,
      connectTimeoutMs: 30_000,
      timeoutMs: 60_000,
      totalTimeoutMs: 180_000,
      retry: { retries: 2, minTimeoutMs: 200, maxTimeoutMs: 2_000, factor: 2, randomize: true },
      breaker: {
        errorThresholdPercentage: 50,
        volumeThreshold: 5,
        rollingCountTimeoutMs: 10_000,
        resetTimeoutMs: 30_000,
      },
      maxConcurrency: 16,
      maxQueue: 64,
      maxResultBytes: 8 * 1024 * 1024,
      maxJsonDepth: 512,
      serializeWrites: false,
      maxWriteQueueBytes: 16_777_216,
      restart: { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 30_000 },
      healthCheckIntervalMs: 30_000,
      unresolvedEnv: [],
    });
    expect(server(loaded, "s")).toMatchObject(DEFAULTS.resilience);
    expect(Object.keys(server(loaded, "s"))).not.toContain("url");
  });

  it("merges top-level `defaults` under each server's own values, nested objects key by key", () => {
    const loaded = parse({
      defaults: {
        timeoutMs: 5_000,
        maxQueue: 3,
        retry: { retries: 5, minTimeoutMs: 100 },
        restart: { maxRestarts: 1 },
      },
      mcpServers: {
        a: { command: "x", timeoutMs: 9_000, retry: { factor: 3, minTimeoutMs: 50 } },
        b: { command: "y" },
      },
    });
    expect(server(loaded, "a")).toMatchObject({
      timeoutMs: 9_000,
      maxQueue: 3,
      totalTimeoutMs: 180_000,
      retry: { retries: 5, minTimeoutMs: 50, maxTimeoutMs: 2_000, factor: 3, randomize: true },
      restart: { maxRestarts: 1, windowMs: 60_000 },
    });
    expect(server(loaded, "b")).toMatchObject({
      timeoutMs: 5_000,
      retry: { retries: 5, minTimeoutMs: 100, factor: 2 },
    });
    expect(loaded.config.defaults).toEqual({
      timeoutMs: 5_000,
      maxQueue: 3,
      retry: { retries: 5, minTimeoutMs: 100 },
      restart: { maxRestarts: 1 },
    });
  });

  it("resolves prefix: the key by default, explicit value, empty string kept", () => {
    expect(one({ command: "x" }).prefix).toBe("s");
    expect(one({ command: "x", prefix: "gh" }).prefix).toBe("gh");
    expect(one({ command: "x", prefix: "" }).prefix).toBe("");
  });

  it("returns a deep-frozen result", () => {
    const loaded = parse({
      mcpServers: { s: { command: "x", args: ["a"] } },
      workflows: { w: { steps: [] } },
    });
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.config)).toBe(true);
    expect(Object.isFrozen(loaded.config.http.rateLimit)).toBe(true);
    expect(Object.isFrozen(loaded.config.workflows["w"])).toBe(true);
    expect(Object.isFrozen(loaded.servers)).toBe(true);
    expect(Object.isFrozen(server(loaded, "s").args)).toBe(true);
    expect(Object.isFrozen(server(loaded, "s").retry)).toBe(true);
    expect(() => (server(loaded, "s").args as string[]).push("b")).toThrow(TypeError);
  });
});

describe("${VAR} expansion", () => {
  const env = { A: "alpha", B: "beta", EMPTY: "" };

  it("expands command, args, env values, cwd, url and headers values", () => {
    const stdio = one(
      { command: "${A}/bin", args: ["--x=${B}", "${A}${B}"], env: { K: "${A}" }, cwd: "/w/${B}" },
      env,
    );
    expect(stdio).toMatchObject({
      command: "alpha/bin",
      args: ["--x=beta", "alphabeta"],
      env: { K: "alpha" },
      cwd: "/w/beta",
    });
    const remote = one({ url: "https://${A}.example/mcp", headers: { Authorization: "Bearer ${B}" } }, env);
    expect(remote).toMatchObject({
      url: "https://alpha.example/mcp",
      headers: { Authorization: "Bearer beta" },
    });
    expect(remote.skipReason).toBeUndefined();
  });

  it("supports ${VAR:-default}, empty defaults, and treats empty variables as unset", () => {
    expect(expandString("${NOPE:-fallback text}", env).value).toBe("fallback text");
    expect(expandString("${A:-fallback}", env).value).toBe("alpha");
    expect(expandString("x${NOPE:-}y", env)).toEqual({ value: "xy", unresolved: [], nestedDefault: false });
    expect(expandString("${EMPTY:-d}", env).value).toBe("d");
    expect(expandString("${EMPTY}", env).unresolved).toEqual(["EMPTY"]);
  });

  it("leaves $$, bare $VAR and malformed references alone", () => {
    expect(expandString("$$ $A ${1X} ${A-b} ${", env).value).toBe("$$ $A ${1X} ${A-b} ${");
    expect(expandString("$${A}", env).value).toBe("$alpha");
  });

  it("falls back to os.homedir() for an unset HOME", () => {
    expect(expandString("${HOME}/x", {}).value).toBe(`${os.homedir()}/x`);
    expect(expandString("${HOME}/x", { HOME: "/h" }).value).toBe("/h/x");
    expect(one({ command: "x", requiredEnv: ["HOME"] }, {}).skipReason).toBeUndefined();
  });

  it("does not expand any other field", () => {
    const s = one(
      {
        command: "x",
        prefix: "${A}",
        profile: "${A}",
        env: { "${A}": "v" },
        tools: { allow: ["${A}"], overrides: { t: { description: "${A}" } } },
      },
      env,
    );
    expect(s.prefix).toBe("${A}");
    expect(s.profile).toBe("${A}");
    expect(s.env).toEqual({ "${A}": "v" });
    expect(s.tools.allow).toEqual(["${A}"]);
    expect(s.tools.overrides["t"]?.description).toBe("${A}");
  });

  it("keeps the unexpanded text in `config`", () => {
    const loaded = parse({ mcpServers: { s: { command: "${A}" } } }, env);
    expect(loaded.config.mcpServers["s"]?.command).toBe("${A}");
    expect(server(loaded, "s").command).toBe("alpha");
  });

  it("records an unset variable without default as unresolved and skips the server", () => {
    const s = one({ command: "x", args: ["${TOKEN}", "${OTHER}", "${TOKEN}"], headers: {} }, env);
    expect(s.unresolvedEnv).toEqual(["TOKEN", "OTHER"]);
    expect(s.skipReason).toBe("set TOKEN, OTHER");
    expect(s.args).toEqual(["", "", ""]);
    const remote = one({ url: "${BASE_URL}/mcp" }, env);
    expect(remote.skipReason).toBe("set BASE_URL");
  });

  it("rejects a nested ${} inside a default", () => {
    expect(
      problemsOf(() => parse({ mcpServers: { s: { command: "x", env: { K: "${A:-${B}}" } } } })),
    ).toEqual([`${SOURCE}: mcpServers.s.env.K: nested \${...} in a default is not supported`]);
  });

  it("validates the url after expansion", () => {
    expect(problemsOf(() => parse({ mcpServers: { s: { url: "${U}" } } }, { U: "not a url" }))).toEqual([
      `${SOURCE}: mcpServers.s.url: not a valid http(s) URL after \${VAR} expansion`,
    ]);
    expect(invalid({ mcpServers: { s: { url: "ftp://h/x" } } })).toEqual([
      `${SOURCE}: mcpServers.s.url: not a valid http(s) URL`,
    ]);
  });
});

describe("skip reasons", () => {
  it("names missing requiredEnv variables (unset or empty) as `set A, B`", () => {
    expect(one({ command: "x", requiredEnv: ["A", "B", "C"] }, { B: "", C: "c" }).skipReason).toBe(
      "set A, B",
    );
  });

  it("accepts a requiredEnv variable given in the entry's own env", () => {
    expect(one({ command: "x", requiredEnv: ["A"], env: { A: "literal" } }, {}).skipReason).toBeUndefined();
  });

  it("combines requiredEnv and unresolved references without duplicates", () => {
    expect(one({ command: "x", requiredEnv: ["A"], env: { A: "${A}", T: "${T}" } }, {}).skipReason).toBe(
      "set A, T",
    );
  });

  it("says `disabled in config` for enabled: false, before anything else", () => {
    const s = one({ command: "${NOPE}", enabled: false });
    expect(s.skipReason).toBe("disabled in config");
    expect(s.unresolvedEnv).toEqual(["NOPE"]);
  });
});

describe("problems", () => {
  it("reports the exact one-line message for a wrong type", () => {
    expect(invalid({ mcpServers: { github: { command: "npx", args: ["-y", 5] } } })).toEqual([
      "servers.config.json: mcpServers.github.args[1]: expected string, got number",
    ]);
  });

  it("names the JSON type of the actual value", () => {
    expect(
      invalid({
        mcpServers: { a: { command: "x", env: { K: null }, enabled: "yes", args: {} }, b: [], c: { url: 1 } },
        http: { port: 8.5, allowedHosts: [true] },
        maxToolNameLength: "54",
      }),
    ).toEqual([
      `${SOURCE}: mcpServers.a.args: expected array, got object`,
      `${SOURCE}: mcpServers.a.env.K: expected string, got null`,
      `${SOURCE}: mcpServers.a.enabled: expected boolean, got string`,
      `${SOURCE}: mcpServers.b: expected object, got array`,
      `${SOURCE}: mcpServers.c.url: expected string, got number`,
      `${SOURCE}: maxToolNameLength: expected number, got string`,
      `${SOURCE}: http.port: expected integer, got number 8.5`,
      `${SOURCE}: http.allowedHosts[0]: expected string, got boolean`,
    ]);
  });

  it("lists range, enum, format and unknown-key problems one per line", () => {
    expect(
      invalid({
        mcpServers: { s: { command: "x", retry: { retries: 11 }, type: "websocket" } },
        namespaceSeparator: "::",
        maxToolNameLength: 65,
        exposure: "some",
        http: { path: "mcp", extra: 1, rateLimit: { burst: 0 } },
        defaults: { timeoutMs: 0, bogus: true },
      }),
    ).toEqual([
      `${SOURCE}: mcpServers.s.type: expected one of "stdio" | "http" | "streamable-http" | "streamableHttp" | "sse", got "websocket"`,
      `${SOURCE}: mcpServers.s.retry.retries: must be <= 10, got 11`,
      `${SOURCE}: namespaceSeparator: must be 0-4 characters from a-z A-Z 0-9 _ -`,
      `${SOURCE}: maxToolNameLength: must be <= 64, got 65`,
      `${SOURCE}: exposure: expected one of "all" | "search", got "some"`,
      `${SOURCE}: http.path: must start with /`,
      `${SOURCE}: http.rateLimit.burst: must be > 0, got 0`,
      `${SOURCE}: http.extra: unknown key`,
      `${SOURCE}: defaults.timeoutMs: must be > 0, got 0`,
      `${SOURCE}: defaults.bogus: unknown key`,
    ]);
  });

  it("requires exactly one of command and url", () => {
    expect(invalid({ mcpServers: { s: { args: ["x"] } } })).toEqual([
      `${SOURCE}: mcpServers.s: needs "command" (stdio) or "url" (http/sse); neither is set`,
    ]);
    expect(invalid({ mcpServers: { s: { command: "x", url: "http://h/" } } })).toEqual([
      `${SOURCE}: mcpServers.s: has both "command" and "url"; set exactly one`,
    ]);
    expect(invalid({ mcpServers: { s: { url: "http://h/", type: "stdio" } } })).toEqual([
      `${SOURCE}: mcpServers.s.type: type "stdio" needs "command", not "url"`,
    ]);
    expect(invalid({ mcpServers: { s: { command: "x", type: "sse" } } })).toEqual([
      `${SOURCE}: mcpServers.s.type: a remote type ("http"/"sse") needs "url", not "command"`,
    ]);
  });

  it("checks the shape even when another field of the same entry is wrong", () => {
    expect(invalid({ mcpServers: { s: { enabled: 1 } } })).toEqual([
      `${SOURCE}: mcpServers.s.enabled: expected boolean, got number`,
      `${SOURCE}: mcpServers.s: needs "command" (stdio) or "url" (http/sse); neither is set`,
    ]);
  });

  it("checks merged retry and restart bounds", () => {
    expect(
      invalid({ defaults: { retry: { minTimeoutMs: 5_000 } }, mcpServers: { s: { command: "x" } } }),
    ).toEqual([`${SOURCE}: mcpServers.s.retry: minTimeoutMs (5000) must be <= maxTimeoutMs (2000)`]);
  });

  it("quotes odd keys and rejects an empty server name", () => {
    expect(invalid({ mcpServers: { "a.b": { command: 1 }, "": { command: "x" } } })).toEqual([
      `${SOURCE}: mcpServers["a.b"].command: expected string, got number`,
      `${SOURCE}: mcpServers[""]: server name must not be empty`,
    ]);
  });

  it("rejects a top level that is not an object", () => {
    expect(invalid([1])).toEqual([`${SOURCE}: expected object, got array`]);
  });
});

describe("unknown keys in server entries", () => {
  it("warns, drops the key and still loads", () => {
    const loaded = parse({
      mcpServers: {
        x: {
          command: "c",
          foo: 1,
          retry: { retries: 1, bar: 2 },
          tools: { overrides: { t: { annotations: { baz: true } } } },
        },
      },
      servers: { y: { url: "http://h/", autoApprove: [] } },
    });
    expect(loaded.warnings).toEqual([
      `${SOURCE}: mcpServers.x.tools.overrides.t.annotations.baz: unknown key (ignored)`,
      `${SOURCE}: mcpServers.x.retry.bar: unknown key (ignored)`,
      `${SOURCE}: mcpServers.x.foo: unknown key (ignored)`,
      `${SOURCE}: servers.y.autoApprove: unknown key (ignored)`,
    ]);
    expect(server(loaded, "x")).not.toHaveProperty("foo");
    expect(server(loaded, "x").retry.retries).toBe(1);
  });

  it("reports only the real errors when unknown keys come with them", () => {
    expect(invalid({ mcpServers: { x: { command: 1, foo: 1 } } })).toEqual([
      `${SOURCE}: mcpServers.x.command: expected string, got number`,
    ]);
  });
});

describe("files", () => {
  it("reports invalid JSON in a file with line and column", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "amcp-config-"));
    const file = path.join(dir, "invalid-json.json");
    await writeFile(file, '{\n  "mcpServers": {\n    "a": { "command" "x" }\n  }\n}\n');
    const problems = await loadConfig(file).then(
      () => [],
      (error: unknown) => (error as AggregatorError).details["problems"] as string[],
    );
    expect(problems).toEqual([
      "invalid-json.json: invalid JSON at line 3, column 22: expected ':' after the property name",
    ]);
  });

  it("throws CONFIG_NOT_FOUND for a missing file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "amcp-config-"));
    const file = path.join(dir, "servers.config.json");
    await expect(loadConfig(file)).rejects.toMatchObject({
      code: "CONFIG_NOT_FOUND",
      message: `servers.config.json: not found at ${file}`,
    });
  });

  it("loads a file with a byte-order mark", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "amcp-config-"));
    const file = path.join(dir, "mine.json");
    await writeFile(file, `\uFEFF${JSON.stringify({ mcpServers: { s: { command: "x" } } })}`);
    expect((await loadConfig(file)).servers).toHaveLength(1);
  });

  it("resolves the config path: --config, then AUTONOMOUS_MCP_CONFIG, then ./servers.config.json", () => {
    const cwd = path.resolve("/work/dir");
    expect(resolveConfigPath({ config: "a.json" }, { AUTONOMOUS_MCP_CONFIG: "/env/b.json" }, cwd)).toBe(
      path.join(cwd, "a.json"),
    );
    expect(resolveConfigPath({}, { AUTONOMOUS_MCP_CONFIG: "/env/b.json" }, cwd)).toBe(
      path.resolve("/env/b.json"),
    );
    expect(resolveConfigPath({}, { AUTONOMOUS_MCP_CONFIG: "" }, cwd)).toBe(
      path.join(cwd, "servers.config.json"),
    );
    expect(resolveConfigPath({}, {}, cwd)).toBe(path.join(cwd, "servers.config.json"));
    expect(resolveConfigPath({}, {})).toBe(path.resolve("servers.config.json"));
  });
});
