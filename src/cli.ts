#!/usr/bin/env node
import "./heapInit.js"; // first: bounds the heap before anything else is loaded (src/heap.ts)
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath } from "./config/load.js";
import { LOG_LEVELS, type LogLevel } from "./config/schema.js";
import { isAggregatorError, errorMessage } from "./errorCore.js";
import { deferredLogger } from "./deferredLogger.js";
import type { Logger } from "./logger.js";
import { prespawn } from "./downstream/prespawn.js";
import { parseHeapSetting } from "./heap.js";
import { collectSecrets, createScrubber } from "./secrets.js";
import { principalTokens } from "./front/principals.js";
import { guardChildren, guardServe } from "./shutdown.js";
import { VERSION } from "./version.js";

// Only what every command needs is imported statically; the rest (the SDK, the aggregator) loads
// when a command needs it, so `serve` can spawn its servers first and let them boot meanwhile.

const HELP = `autonomous-mcp ${VERSION} — one MCP server in front of all your MCP servers

Usage:
  autonomous-mcp [serve] [--config FILE] [--transport stdio|http] [--port N] [--host H] [--auth-token T] [--metrics-port N]
  autonomous-mcp doctor [--config FILE] [--json]
  autonomous-mcp import FILE [--out FILE] [--merge]
  autonomous-mcp validate [--config FILE]
  autonomous-mcp tools [--config FILE] [--json]
  autonomous-mcp --help | --version

HTTP: binds 127.0.0.1 by default; any other host needs --auth-token (or $AUTONOMOUS_MCP_TOKEN).
Config: --config FILE, else $AUTONOMOUS_MCP_CONFIG, else ./servers.config.json.
Logs go to stderr (level: $AUTONOMOUS_MCP_LOG_LEVEL or the config's logLevel).
Exit codes: 0 ok, 1 runtime failure, 2 invalid config or usage.
`;

const say = (line: string): void => void process.stderr.write(`${line}\n`);
// stderr is only for people: if whoever started us stops reading it (EPIPE), the protocol on stdout
// goes on and the messages are dropped, instead of an unhandled 'error' event ending the process.
process.stderr.on("error", () => undefined);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        transport: { type: "string", short: "t" },
        port: { type: "string", short: "p" },
        host: { type: "string" },
        "auth-token": { type: "string" },
        "metrics-port": { type: "string" },
        out: { type: "string", short: "o" },
        merge: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    say(`autonomous-mcp: ${errorMessage(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const heap = parseHeapSetting(process.env["AUTONOMOUS_MCP_HEAP"]);
  if (heap instanceof Error) {
    say(`autonomous-mcp: ${heap.message}`);
    return 2;
  }
  const command = positionals[0] ?? "serve";
  // Report commands: a reader that stops early (`autonomous-mcp tools | head`) ends the output, not the
  // command, which still stops its servers and exits 0. (serve's stdout is the protocol: its front
  // transport handles a closed stdout itself.)
  if (command !== "serve") process.stdout.on("error", () => undefined);
  if (command === "import") {
    const file = positionals[1];
    if (!file) {
      say(
        "autonomous-mcp: import needs a FILE (a Claude Desktop, Claude Code, Cursor or VS Code MCP config)",
      );
      return 2;
    }
    const { importConfig } = await import("./commands/import.js");
    return importConfig({ file, out: values.out, merge: values.merge === true, say });
  }
  if (!["serve", "validate", "tools", "doctor"].includes(command)) {
    say(`autonomous-mcp: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const transport = values.transport ?? "stdio";
  if (transport !== "stdio" && transport !== "http") {
    say(`autonomous-mcp: --transport must be stdio or http, got "${transport}"`);
    return 2;
  }
  const port = portOption("--port", values.port);
  const metricsPort = portOption("--metrics-port", values["metrics-port"]);
  if (port === null || metricsPort === null) return 2;

  const path = resolveConfigPath({ config: values.config }, process.env);
  let loaded;
  try {
    loaded = await loadConfig(path, { env: process.env });
  } catch (error) {
    if (isAggregatorError(error, "CONFIG_INVALID") || isAggregatorError(error, "CONFIG_NOT_FOUND")) {
      say(error.message);
      return 2;
    }
    throw error;
  }

  if (command === "validate") {
    for (const w of loaded.warnings) say(`warning: ${w}`);
    const { validateWorkflowDefinitions } = await import("./workflows/register.js");
    const workflows = validateWorkflowDefinitions(loaded);
    for (const p of workflows.problems) say(p);
    if (workflows.problems.length > 0) return 2;
    say(
      `${path}: valid (${loaded.servers.length} servers${workflows.count ? `, ${workflows.count} workflows` : ""})`,
    );
    return 0;
  }

  const authToken = values["auth-token"] || process.env["AUTONOMOUS_MCP_TOKEN"] || undefined;
  const envLevel = process.env["AUTONOMOUS_MCP_LOG_LEVEL"]?.trim() || undefined;
  if (envLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(envLevel)) {
    say(
      `autonomous-mcp: AUTONOMOUS_MCP_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${envLevel}"`,
    );
    return 2;
  }
  const scrub = createScrubber(
    collectSecrets(loaded.servers, [authToken, ...principalTokens(loaded.config.http)]),
  );
  const level = (envLevel as LogLevel | undefined) ?? loaded.config.logLevel;
  const newLogger = async (): Promise<Logger> => (await import("./logger.js")).createLogger({ level, scrub });
  // doctor and tools start the servers too: none may outlive us (src/shutdown.ts).
  if (command !== "serve") guardChildren(say);
  if (command === "doctor") {
    const [{ doctor }, log] = await Promise.all([import("./commands/doctor.js"), newLogger()]);
    return doctor(loaded, log, {
      json: values.json === true,
      out: (s) => void process.stdout.write(scrub(s)),
    });
  }
  if (command === "tools") {
    const [{ listTools }, log] = await Promise.all([import("./commands/tools.js"), newLogger()]);
    return listTools(loaded, log, {
      json: values.json === true,
      say,
      out: (s) => void process.stdout.write(s),
    });
  }

  // The servers boot while the rest loads: pino (their lines wait in `early` until it exists), the SDK, us.
  const early = deferredLogger();
  // Before anything starts: signals stop what has started, at any moment (src/shutdown.ts).
  const { shutdown, killServers } = guardServe((message) => early.logger.warn(message));
  const prespawned = await prespawn(loaded.servers, early.logger);
  const log = await newLogger();
  early.attach(log);
  const { serve } = await import("./serve.js");
  let running;
  try {
    running = await serve({
      prespawned,
      loaded,
      log,
      transport,
      host: values.host,
      port,
      authToken,
      metricsPort,
      say,
      progress: process.stderr.isTTY === true,
      shutdown,
      killServers,
    });
  } catch (error) {
    // Nothing started may outlive a failed start: stop the pre-spawned processes (their groups).
    await Promise.all([...prespawned.values()].map((p) => p.transport.close().catch(() => undefined)));
    if (isAggregatorError(error, "CONFIG_INVALID")) {
      say(error.message);
      return 2;
    }
    throw error;
  }
  await running.ended;
  log.flush?.();
  return 0;
}

/** undefined when absent, null (after saying why) when invalid. */
function portOption(name: string, value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  say(`autonomous-mcp: ${name} must be a whole number from 0 to 65535, got "${value}"`);
  return null;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`autonomous-mcp: ${errorMessage(error)}`);
    process.exit(1);
  },
);
