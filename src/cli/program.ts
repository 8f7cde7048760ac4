import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { VERSION } from "../version.js";
import { collect, COMMANDS, nonEmpty, parsePort, redisUrl, type Parsed, type Transport } from "./args.js";

/**
 * The command line, parsed without side effects: what to run, or the text to print and the exit code.
 * Commander (v14) gives per-command help and "did you mean" suggestions; every refusal is one line
 * (`autonomous-mcp <command>: <reason>; see autonomous-mcp <command> --help`) with exit code 2.
 */

export type { LoginArgs, Parsed, ReportArgs, ServeArgs, Transport } from "./args.js";
export { COMMANDS, parsePort } from "./args.js";

const NAME = "autonomous-mcp";
/** The options that only mean something to the HTTP front; each implies --transport http. */
const HTTP_ONLY = ["port", "host", "authToken", "allowedHost", "metricsPort"] as const;
const FLAG: Record<(typeof HTTP_ONLY)[number], string> = {
  port: "--port",
  host: "--host",
  authToken: "--auth-token",
  allowedHost: "--allowed-host",
  metricsPort: "--metrics-port",
};

const HELP_AFTER = `
Config lookup: --config FILE, else $AUTONOMOUS_MCP_CONFIG, else ./servers.config.json if it exists,
else $XDG_CONFIG_HOME/autonomous-mcp/servers.config.json (default ~/.config/autonomous-mcp/), the
file \`${NAME} init\` writes.
Logs go to stderr: readable on a terminal, JSON lines otherwise ($AUTONOMOUS_MCP_LOG_FORMAT=json|pretty,
$AUTONOMOUS_MCP_LOG_LEVEL). Colours follow NO_COLOR / FORCE_COLOR.
Exit codes: 0 ok, 1 runtime failure (doctor/tools: a server failed), 2 invalid config or usage.
Every environment variable: docs/configuration.md. "${NAME} <command> --help" shows a command's options.`;

const SERVE_AFTER = `
--port, --host, --auth-token, --allowed-host and --metrics-port only mean something to the HTTP front,
so any of them implies --transport http (an explicit --transport stdio with them is refused).
HTTP binds 127.0.0.1 by default; any other host needs --auth-token (or $AUTONOMOUS_MCP_TOKEN).

Examples:
  ${NAME}                                  stdio, for Claude Desktop and other MCP clients
  ${NAME} --port 3000                      Streamable HTTP on http://127.0.0.1:3000/mcp
  ${NAME} --dashboard-port 7070            stdio, and the live dashboard on http://127.0.0.1:7070/dashboard/
  ${NAME} serve --config ./team.json --host 0.0.0.0 --auth-token "$TOKEN" --allowed-host mcp.example.com`;

const configOption = (): Option =>
  new Option(
    "-c, --config <file>",
    "the config file (default: ./servers.config.json, else the user config: see --help)",
  ).argParser(nonEmpty);

function build(done: (result: Parsed) => void, out: (text: string) => void): Command {
  const program = new Command(NAME)
    .description(`${NAME} ${VERSION}: one MCP server in front of all your MCP servers`)
    .usage("[command] [options]")
    .version(VERSION, "-v, --version", "print the version")
    .helpOption("-h, --help", "show help (also: <command> --help)")
    .helpCommand("help [command]", "show help for a command")
    .addHelpText("after", HELP_AFTER)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: out, outputError: () => undefined });

  const command = (name: string, description: string): Command =>
    program
      .command(name)
      .description(description)
      .helpOption("-h, --help", "show this help")
      .showSuggestionAfterError(true)
      .allowExcessArguments(true) // checked below, to name the stray word
      .exitOverride()
      .configureOutput({ writeOut: out, writeErr: out, outputError: () => undefined });

  command("serve", "serve the aggregated servers to an MCP client (the default command)")
    .addOption(configOption())
    .addOption(
      new Option("-t, --transport <name>", "stdio for a client that starts us, http for Streamable HTTP")
        .choices(["stdio", "http"])
        .default(undefined, "stdio, or http when an HTTP option is given"),
    )
    .addOption(
      new Option("-p, --port <n>", "HTTP port (default: http.port, 3000; 0 = any free port)").argParser(
        parsePort,
      ),
    )
    .addOption(
      new Option("--host <host>", "HTTP address to bind (default: http.host, 127.0.0.1)").argParser(nonEmpty),
    )
    .addOption(
      new Option(
        "--auth-token <token>",
        "bearer token HTTP clients must send (or $AUTONOMOUS_MCP_TOKEN)",
      ).argParser(nonEmpty),
    )
    .addOption(
      new Option(
        "--allowed-host <host>",
        "another Host header value to accept, e.g. a proxy's name (repeatable; adds to http.allowedHosts)",
      ).argParser(collect),
    )
    .addOption(
      new Option("--metrics-port <n>", "also serve /metrics, /healthz and /readyz on this port").argParser(
        parsePort,
      ),
    )
    .addOption(
      new Option(
        "--dashboard-port <n>",
        "also serve the live dashboard on http://127.0.0.1:<n>/dashboard/ (stdio or http; loopback only)",
      ).argParser(parsePort),
    )
    .addOption(
      new Option(
        "--redis <url>",
        "cluster mode: share state with other replicas through this Redis (or $AUTONOMOUS_MCP_REDIS_URL)",
      ).argParser(redisUrl),
    )
    .addHelpText("after", SERVE_AFTER)
    .action(function (this: Command) {
      noStrayWords(this, 0);
      const o = this.opts<{
        config?: string;
        transport?: Transport;
        port?: number;
        host?: string;
        authToken?: string;
        allowedHost?: string[];
        metricsPort?: number;
        dashboardPort?: number;
        redis?: string;
      }>();
      const httpGiven = HTTP_ONLY.filter((k) => o[k] !== undefined);
      if (o.transport === "stdio" && httpGiven.length > 0) {
        throw usage(
          "serve",
          `${httpGiven.map((k) => FLAG[k]).join(", ")} only applies to --transport http, not stdio`,
        );
      }
      done({
        kind: "serve",
        args: {
          config: o.config,
          transport: o.transport ?? (httpGiven.length > 0 ? "http" : "stdio"),
          port: o.port,
          host: o.host,
          authToken: o.authToken,
          allowedHosts: o.allowedHost ?? [],
          metricsPort: o.metricsPort,
          dashboardPort: o.dashboardPort,
          redis: o.redis,
        },
      });
    });

  command("validate", "check the config file and exit (0 valid, 2 with one line per problem)")
    .addOption(configOption())
    .action(function (this: Command) {
      noStrayWords(this, 0);
      done({ kind: "validate", config: this.opts<{ config?: string }>().config });
    });

  const report = (name: "tools" | "doctor", description: string): void => {
    command(name, description)
      .addOption(configOption())
      .option("--json", "print JSON instead of a table")
      .option("--verbose", "show the log lines (hidden by default: the table says what matters)")
      .action(function (this: Command) {
        noStrayWords(this, 0);
        const o = this.opts<{ config?: string; json?: boolean; verbose?: boolean }>();
        done({ kind: name, args: { config: o.config, json: o.json === true, verbose: o.verbose === true } });
      });
  };
  report("tools", "connect, list every tool (public name, server, original name), exit");
  report(
    "doctor",
    "connect each server once: state, tools, connect ms, protocol, last error and a hint; exit 1 if one failed",
  );

  command("import", "copy the servers of a Claude Desktop, Claude Code, Cursor or VS Code config into ours")
    .argument("<file>", "the client's config file")
    .addOption(
      new Option("-o, --out <file>", "where to write (default: ./servers.config.json)").argParser(nonEmpty),
    )
    .option("--merge", "add to an existing --out file instead of refusing to overwrite it")
    .action(function (this: Command, file: string) {
      noStrayWords(this, 1);
      const o = this.opts<{ out?: string; merge?: boolean }>();
      done({ kind: "import", file, out: o.out, merge: o.merge === true });
    });

  command("login", "sign in to an OAuth-protected http server and store its tokens (docs/oauth.md)")
    .argument("<server>", "the server's name in the config")
    .addOption(configOption())
    .option("--no-browser", "print the sign-in URL only; do not open a browser")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for the sign-in (default 300)").argParser((v) => {
        if (!/^[0-9]{1,6}$/.test(v) || Number(v) < 1)
          throw new InvalidArgumentError(`must be a whole number of seconds, got "${v}"`);
        return Number(v);
      }),
    )
    .action(function (this: Command, server: string) {
      noStrayWords(this, 1);
      const o = this.opts<{ config?: string; browser?: boolean; timeout?: number }>();
      done({
        kind: "login",
        args: {
          config: o.config,
          server,
          browser: o.browser !== false,
          timeoutMs: (o.timeout ?? 300) * 1000,
        },
      });
    });

  command("logout", "forget a server's OAuth tokens (and revoke them at the authorization server)")
    .argument("<server>", "the server's name in the config")
    .addOption(configOption())
    .action(function (this: Command, server: string) {
      noStrayWords(this, 1);
      const o = this.opts<{ config?: string }>();
      done({ kind: "logout", args: { config: o.config, server, browser: false, timeoutMs: 0 } });
    });

  command("init", "write a starter config to $XDG_CONFIG_HOME/autonomous-mcp/servers.config.json")
    .option("--force", "overwrite an existing file")
    .option("--print", "print the starter config on stdout instead of writing it")
    .action(function (this: Command) {
      noStrayWords(this, 0);
      const o = this.opts<{ force?: boolean; print?: boolean }>();
      done({ kind: "init", force: o.force === true, print: o.print === true });
    });
  return program;
}

class UsageError extends Error {}

function usage(command: string | undefined, reason: string): UsageError {
  const who = command ? `${NAME} ${command}` : NAME;
  return new UsageError(`${who}: ${reason}; see ${who} --help`);
}

function noStrayWords(cmd: Command, expected: number): void {
  const stray = cmd.args.slice(expected);
  if (stray.length === 0) return;
  const words = stray.map((w) => `"${w}"`).join(" ");
  const takes =
    expected === 0 ? "takes no arguments" : `takes ${expected} argument${expected === 1 ? "" : "s"}`;
  throw usage(cmd.name(), `unexpected argument ${words} (${cmd.name()} ${takes})`);
}

/** Which commands define an option (for "--json does not apply to serve; it is an option of doctor, tools"). */
function commandsWithOption(program: Command, flag: string): string[] {
  return program.commands
    .filter((c) => c.options.some((o) => o.long === flag || o.short === flag))
    .map((c) => c.name());
}

/** The command word argv starts with, or undefined (none: the default, serve). */
function commandWord(argv: readonly string[]): string | undefined {
  const first = argv[0];
  return first === undefined || first.startsWith("-") ? undefined : first;
}

/** Parses argv (without node and the script). Never exits, never prints. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  let result: Parsed | undefined;
  let printed = "";
  const program = build(
    (r) => (result = r),
    (text) => (printed += text),
  );
  const word = commandWord(argv);
  // `help <word>` for a word that is no command: the unknown-command answer, with its suggestion.
  const topic = argv[1];
  if (word === "help" && topic !== undefined && !COMMANDS.some((c) => c === topic) && topic !== "help") {
    return parseCommandLine([topic]);
  }
  const globalOnly = ["-h", "--help", "-v", "--version"].includes(argv[0] ?? "");
  // No command word: serve is the default (`autonomous-mcp --port 3000`); `--help` alone is the overview.
  const args = word === undefined && !globalOnly ? ["serve", ...argv] : [...argv];
  const current = word ?? (globalOnly ? undefined : "serve");
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof UsageError) return { kind: "usage", message: error.message };
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return { kind: "print", out: printed };
      return { kind: "usage", message: commanderMessage(program, error, current) };
    }
    throw error;
  }
  if (result === undefined) return { kind: "print", out: printed };
  return result;
}

function commanderMessage(program: Command, error: CommanderError, command: string | undefined): string {
  const [first = "", ...rest] = error.message.replace(/^error: /, "").split("\n");
  const suggestion = rest
    .join(" ")
    .replace(/^\((.*)\)$/, "$1")
    .trim();
  const known = command !== undefined && program.commands.some((c) => c.name() === command);
  const who = known ? command : undefined;
  if (error.code === "commander.unknownOption") {
    const flag = /'([^']+)'/.exec(first)?.[1] ?? "";
    const owners = commandsWithOption(program, flag).filter((c) => c !== who);
    if (owners.length > 0 && !suggestion) {
      return usage(who, `${flag} does not apply to ${who ?? NAME} (it is an option of ${owners.join(", ")})`)
        .message;
    }
  }
  if (error.code === "commander.unknownCommand") {
    const word = /'([^']+)'/.exec(first)?.[1] ?? "";
    return usage(
      undefined,
      `unknown command "${word}"${suggestion ? ` (${lower(suggestion)})` : ""}; the commands are ${COMMANDS.join(", ")}`,
    ).message.replace(/; see .*$/, `; see ${NAME} --help`);
  }
  if (error.code === "commander.invalidArgument") {
    // "option '-p, --port <n>' argument '0x10' is invalid. <why>" → "--port must be …, got "0x10""
    const m = /^option '(?:-\w, )?(--[\w-]+)[^']*' argument '([^']*)' is invalid\. (.*)$/.exec(first);
    if (m) {
      const [, flag = "", value = "", why = ""] = m;
      const choices = /^Allowed choices are (.*)\.$/.exec(why);
      const reason = choices ? `must be one of ${choices[1] ?? ""}, got "${value}"` : why;
      return usage(who, `${flag} ${reason}`).message;
    }
  }
  const reason = first.replace(/'/g, '"');
  return usage(who, suggestion ? `${reason} (${lower(suggestion)})` : reason).message;
}

function lower(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
