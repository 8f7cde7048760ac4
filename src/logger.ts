import { pino, type Logger, type DestinationStream, type LevelWithSilent } from "pino";
import { prettyFactory } from "pino-pretty";

export type { Logger };

/** Paths that never reach a log line at any level (values replaced by "[redacted]"). */
export const REDACT_PATHS: readonly string[] = [
  "env",
  "*.env",
  "headers",
  "*.headers",
  "authorization",
  "*.authorization",
  "Authorization",
  "*.Authorization",
  "token",
  "*.token",
  "apiKey",
  "*.apiKey",
];

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Where log lines go. Default: stderr (fd 2). stdout is the protocol in stdio mode. */
  readonly destination?: DestinationStream;
  /** Applied to every finished log line: removes secret values wherever they appear. */
  readonly scrub?: (line: string) => string;
  /**
   * "json" (default): one JSON object per line. "pretty": pino-pretty's human format, written
   * synchronously (`write` below, else stderr) — formatted in this thread: pino's transports run in
   * worker threads, which break inside the esbuild bundle.
   */
  readonly format?: LogFormat;
  /** Pretty only: colours on or off. Default off. */
  readonly colour?: boolean;
  /** Pretty only: where each formatted line goes. Default: synchronous writes to stderr. */
  readonly write?: (text: string) => void;
}

export type LogFormat = "json" | "pretty";
export const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];

/** One root logger built by the composition root and passed down; never a module singleton. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level =
    options.level ?? (process.env["AUTONOMOUS_MCP_LOG_LEVEL"] as LevelWithSilent | undefined) ?? "info";
  return pino(
    {
      name: "autonomous-mcp",
      level,
      redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
      ...(options.scrub ? { hooks: { streamWrite: options.scrub } } : {}),
    },
    options.destination ?? (options.format === "pretty" ? prettyDestination(options) : stderrDestination()),
  );
}

/** pino-pretty as a plain synchronous destination: every JSON line formatted and written at once. */
function prettyDestination(options: LoggerOptions): DestinationStream {
  const format = prettyFactory({
    colorize: options.colour === true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,name",
    singleLine: true,
  });
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  return { write: (line: string) => write(format(line)) };
}

/** Most log bytes held for a stderr nobody reads; lines beyond it are dropped. */
const MAX_BUFFERED_LOG_BYTES = 1024 * 1024;

/**
 * Asynchronous stderr that never takes the process down: a closed stderr (EPIPE) drops the lines
 * instead of raising an unhandled 'error' event, and a stderr nobody reads holds at most
 * MAX_BUFFERED_LOG_BYTES instead of growing without bound.
 */
function stderrDestination(): DestinationStream {
  const destination = pino.destination({ fd: 2, sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
  destination.on("error", () => undefined);
  return destination;
}
