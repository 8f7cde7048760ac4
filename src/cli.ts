#!/usr/bin/env node
import { parseCommandLine, type ReportArgs, type ServeArgs } from "./cli/program.js";
import { createTerminal, progressWriter, style } from "./cli/terminal.js";
import { loadConfig, type LoadedConfig } from "./config/load.js";
import { locateConfig } from "./config/locate.js";
import { LOG_LEVELS, type LogLevel } from "./config/schema.js";
import { isAggregatorError, errorMessage } from "./errorCore.js";
import { deferredLogger } from "./deferredLogger.js";
import type { Logger, LogFormat } from "./logger.js";
import { prespawn } from "./downstream/prespawn.js";
import { parseHeapSetting, startHeapGovernor } from "./heap.js";
import { collectSecrets, createScrubber } from "./secrets.js";
import { principalTokens } from "./front/principals.js";
import { guardBriefRun, guardServe } from "./shutdown.js";

// Only what every command needs is imported statically; the rest (the SDK, the aggregator, pino) loads
// when a command needs it, so `serve` can spawn its servers first and let them boot meanwhile.
// The command line itself is parsed in cli/program.ts (commander); this file runs what it asks for.

// stderr is only for people: if whoever started us stops reading it (EPIPE), the protocol on stdout
// goes on and the messages are dropped, instead of an unhandled 'error' event ending the process.
process.stderr.on("error", () => undefined);
/** Messages, logs and the progress line share stderr through this (cli/terminal.ts). */
const terminal = createTerminal(process.stderr, process.env);
const say = (line: string): void => terminal.line(line);

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === "print") {
    process.stdout.write(parsed.out);
    return 0;
  }
  if (parsed.kind === "usage") {
    say(parsed.message);
    return 2;
  }
  const heap = parseHeapSetting(process.env["AUTONOMOUS_MCP_HEAP"]);
  if (heap instanceof Error) {
    say(`autonomous-mcp: ${heap.message}`);
    return 2;
  }
  // Report commands: a reader that stops early (`autonomous-mcp tools | head`) ends the output, not the
  // command, which still stops its servers and exits 0. (serve's stdout is the protocol: its front
  // transport handles a closed stdout itself.)
  if (parsed.kind !== "serve") process.stdout.on("error", () => undefined);
  if (parsed.kind === "import") {
    const { importConfig } = await import("./commands/import.js");
    return importConfig({ file: parsed.file, out: parsed.out, merge: parsed.merge, say });
  }
  if (parsed.kind === "init") {
    const { initConfig } = await import("./commands/init.js");
    const out = (text: string): void => void process.stdout.write(text);
    return initConfig({ force: parsed.force, print: parsed.print, env: process.env, say, out });
  }

  const args = parsed.kind === "validate" ? { config: parsed.config } : parsed.args;
  const loaded = await readConfig(args.config, parsed.kind === "validate");
  if (typeof loaded === "number") return loaded;

  if (parsed.kind === "login" || parsed.kind === "logout") {
    const { login, logout } = await import("./commands/login.js");
    const io = { say, env: process.env, browser: parsed.args.browser, timeoutMs: parsed.args.timeoutMs };
    return parsed.kind === "login"
      ? login(loaded, parsed.args.server, io)
      : logout(loaded, parsed.args.server, io);
  }
  if (parsed.kind === "validate") {
    for (const w of loaded.warnings) say(`warning: ${w}`);
    const workflows = await workflowProblems(loaded.config.workflows);
    for (const p of workflows.problems) say(p);
    if (workflows.problems.length > 0) return 2;
    say(
      `${loaded.path}: valid (${loaded.servers.length} servers${workflows.count ? `, ${workflows.count} workflows` : ""})`,
    );
    return 0;
  }

  const authToken =
    (parsed.kind === "serve" ? parsed.args.authToken : undefined) ||
    process.env["AUTONOMOUS_MCP_TOKEN"] ||
    undefined;
  const logging = logSettings(loaded);
  if (typeof logging === "number") return logging;
  const scrub = createScrubber(
    collectSecrets(loaded.servers, [authToken, ...principalTokens(loaded.config.http)]),
  );
  const newLogger = async (level: LogLevel): Promise<Logger> =>
    (await import("./logger.js")).createLogger({
      level,
      scrub,
      format: logging.format,
      colour: terminal.colour,
      // On a terminal every line goes through `terminal`, synchronously, so none lands inside the progress line.
      ...(terminal.isTTY
        ? logging.format === "pretty"
          ? { write: (text: string) => terminal.line(text) }
          : { destination: { write: (line: string) => terminal.line(line) } }
        : {}),
    });

  if (parsed.kind === "doctor" || parsed.kind === "tools") {
    // doctor and tools start the servers too: none may outlive us (src/shutdown.ts).
    guardBriefRun(say);
    return report(
      parsed.kind,
      parsed.args,
      loaded,
      await newLogger(quiet(parsed.args, logging.level)),
      scrub,
    );
  }
  // Opt-in only (config heap.governor or AUTONOMOUS_MCP_HEAP): otherwise no V8 flag changes after start-up.
  startHeapGovernor(loaded.config.heap, heap);
  return runServe(parsed.args, loaded, () => newLogger(logging.level), authToken);
}

/** The workflow definitions' problems (their own module: loaded only to validate). */
async function workflowProblems(
  workflows: LoadedConfig["config"]["workflows"],
): Promise<{ count: number; problems: string[] }> {
  const { validateWorkflowDefinitions } = await import("./workflows/register.js");
  return validateWorkflowDefinitions(workflows);
}

/**
 * The config the lookup finds (cli/locate.ts), loaded; or the exit code after saying why not. An invalid
 * file: its warnings too, then every problem (and with `validating`, the workflows' problems as far as
 * the file could be read), so one round fixes everything.
 */
async function readConfig(flag: string | undefined, validating = false): Promise<LoadedConfig | number> {
  const location = locateConfig({ config: flag }, process.env);
  if (!location.found) {
    const named = location.source === "--config" || location.source === "AUTONOMOUS_MCP_CONFIG";
    say(
      named
        ? `autonomous-mcp: the config file ${location.path} (from ${location.source}) does not exist`
        : `autonomous-mcp: no config file found. Looked at:\n${location.searched.map((p) => `  ${p}\n`).join("")}` +
            "Run `autonomous-mcp init` to write a starter config to the second place, or pass --config FILE.",
    );
    return 2;
  }
  try {
    return await loadConfig(location.path, { env: process.env });
  } catch (error) {
    if (isAggregatorError(error, "CONFIG_INVALID") || isAggregatorError(error, "CONFIG_NOT_FOUND")) {
      const details = error.details as {
        warnings?: string[];
        workflows?: LoadedConfig["config"]["workflows"];
      };
      for (const w of details.warnings ?? []) say(`warning: ${w}`);
      say(error.message);
      if (validating && details.workflows)
        for (const p of (await workflowProblems(details.workflows)).problems) say(p);
      return 2;
    }
    throw error;
  }
}

/** Log level ($AUTONOMOUS_MCP_LOG_LEVEL, else the config's) and format ($AUTONOMOUS_MCP_LOG_FORMAT, else pretty on a TTY). */
function logSettings(loaded: LoadedConfig): { level: LogLevel; format: LogFormat } | number {
  const envLevel = process.env["AUTONOMOUS_MCP_LOG_LEVEL"]?.trim() || undefined;
  if (envLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(envLevel)) {
    say(
      `autonomous-mcp: AUTONOMOUS_MCP_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${envLevel}"`,
    );
    return 2;
  }
  const envFormat = process.env["AUTONOMOUS_MCP_LOG_FORMAT"]?.trim() || undefined;
  if (envFormat !== undefined && envFormat !== "json" && envFormat !== "pretty") {
    say(`autonomous-mcp: AUTONOMOUS_MCP_LOG_FORMAT must be json or pretty, got "${envFormat}"`);
    return 2;
  }
  return {
    level: (envLevel as LogLevel | undefined) ?? loaded.config.logLevel,
    format: envFormat ?? (terminal.isTTY ? "pretty" : "json"),
  };
}

/** doctor and tools print a table that says what matters: their logs only with --verbose. */
function quiet(args: ReportArgs, level: LogLevel): LogLevel {
  return args.verbose ? level : "silent";
}

async function report(
  kind: "doctor" | "tools",
  args: ReportArgs,
  loaded: LoadedConfig,
  log: Logger,
  scrub: (text: string) => string,
): Promise<number> {
  const total = loaded.servers.filter((s) => s.skipReason === undefined).length;
  if (total > 0) terminal.progress(`autonomous-mcp: connecting ${total} server${total === 1 ? "" : "s"}…`);
  const io = {
    json: args.json,
    style: style(colourOnStdout()),
    out: (text: string): void => {
      terminal.clear();
      process.stdout.write(kind === "doctor" ? scrub(text) : text);
    },
    // A TTY gets the progress line (naming who is still waited for); a pipe one line after the grace.
    progress: (text: string): void => terminal.progress(text),
    ...(terminal.isTTY ? {} : { slow: (line: string): void => say(line) }),
  };
  try {
    if (kind === "doctor") {
      const { doctor } = await import("./commands/doctor.js");
      return await doctor(loaded, log, io);
    }
    const { listTools } = await import("./commands/tools.js");
    return await listTools(loaded, log, { ...io, say });
  } finally {
    terminal.clear();
  }
}

/** Tables go to stdout: coloured when stdout is a terminal (and NO_COLOR is not set). */
function colourOnStdout(): boolean {
  return createTerminal(process.stdout, process.env).colour;
}

async function runServe(
  args: ServeArgs,
  configured: LoadedConfig,
  newLogger: () => Promise<Logger>,
  authToken: string | undefined,
): Promise<number> {
  const loaded = withAllowedHosts(configured, args.allowedHosts);
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
      transport: args.transport,
      host: args.host,
      port: args.port,
      authToken,
      metricsPort: args.metricsPort,
      dashboardPort: args.dashboardPort,
      redisUrl: args.redis,
      say,
      progress: terminal.isTTY,
      progressOut: progressWriter(terminal),
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

/** `--allowed-host H` (repeatable) adds to the config's http.allowedHosts. */
function withAllowedHosts(loaded: LoadedConfig, hosts: readonly string[]): LoadedConfig {
  if (hosts.length === 0) return loaded;
  const http = loaded.config.http;
  return {
    ...loaded,
    config: { ...loaded.config, http: { ...http, allowedHosts: [...http.allowedHosts, ...hosts] } },
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`autonomous-mcp: ${errorMessage(error)}`);
    process.exit(1);
  },
);
