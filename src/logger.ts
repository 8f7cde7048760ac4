import { pino, type Logger, type DestinationStream, type LevelWithSilent } from "pino";

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
}

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
    options.destination ?? stderrDestination(),
  );
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
