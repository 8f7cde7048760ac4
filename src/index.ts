/**
 * The library entry (`import { startAggregator } from "autonomous-mcp"`): start an aggregator from a
 * config, read and validate configs, and the config types. Explicit named exports only; everything
 * else in dist/ is internal and may change in any release.
 */
import { loadConfig, type LoadedConfig } from "./config/load.js";
import { locateConfig } from "./config/locate.js";
import { AggregatorError } from "./errorCore.js";
import { createLogger, type Logger } from "./logger.js";
import { serve } from "./serve.js";

export { loadConfig, parseConfig, resolveConfigPath } from "./config/load.js";
export type { EnvSource, LoadedConfig, LoadOptions, ResolvedServer } from "./config/load.js";
export { locateConfig, userConfigPath } from "./config/locate.js";
export type { ConfigLocation, ConfigSource } from "./config/locate.js";
export type {
  BreakerSettings,
  Config,
  HttpSettings,
  LogLevel,
  ResilienceOverrides,
  ResilienceSettings,
  RestartSettings,
  RetrySettings,
  ServerEntry,
  ServerType,
  ToolOverride,
  ToolsPolicy,
} from "./config/schema.js";
export { AggregatorError, isAggregatorError } from "./errorCore.js";
export type { ErrorCode } from "./errorCore.js";
export type { Logger } from "./logger.js";
export { VERSION } from "./version.js";

export interface StartAggregatorOptions {
  /** A config file, or a config already loaded (loadConfig / parseConfig). Default: the CLI's lookup. */
  readonly config?: string | LoadedConfig;
  /** stdio serves the MCP client on `stdin`/`stdout`; http serves Streamable HTTP. */
  readonly transport: "stdio" | "http";
  /** HTTP: the address to bind (default: the config's http.host, 127.0.0.1). */
  readonly host?: string;
  /** HTTP: the port (default: the config's http.port, 3000; 0 picks a free one, see `url`). */
  readonly port?: number;
  /** HTTP: the bearer token clients must send; required to bind a non-loopback host. */
  readonly authToken?: string;
  /** HTTP: also serve /metrics, /healthz and /readyz on this port. */
  readonly metricsPort?: number;
  /** A pino logger. Default: JSON lines on stderr at the config's logLevel. */
  readonly logger?: Logger;
  /** The human one-liners the CLI prints (start-up summary, skipped servers). Default: info logs. */
  readonly onMessage?: (line: string) => void;
  /** stdio: where the client's messages come from and go to. Default: process.stdin / process.stdout. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout?: NodeJS.WritableStream;
  /** Reload when the config file changes. Default false (the CLI turns it on). */
  readonly watch?: boolean;
}

export interface RunningAggregator {
  /** HTTP: the MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  readonly url?: string;
  /** Resolves once stopped (stdio: also when the client closes stdin). */
  readonly ended: Promise<void>;
  /** Lets calls in flight finish (their grace period), closes the front, stops every server. */
  stop(): Promise<void>;
}

/**
 * Starts an aggregator: loads the config (unless given one), connects its servers and serves them.
 * Resolves once it serves (HTTP: listening; stdio: waiting for the client's initialize).
 * Throws an AggregatorError with code CONFIG_NOT_FOUND or CONFIG_INVALID for a bad config.
 */
export async function startAggregator(options: StartAggregatorOptions): Promise<RunningAggregator> {
  const loaded = await configOf(options.config);
  const log = options.logger ?? createLogger({ level: loaded.config.logLevel });
  const running = await serve({
    loaded,
    log,
    transport: options.transport,
    host: options.host,
    port: options.port,
    authToken: options.authToken,
    metricsPort: options.metricsPort,
    say: options.onMessage ?? ((line) => log.info(line)),
    watch: options.watch ?? false,
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.stdout ? { stdout: options.stdout } : {}),
  });
  return {
    ...(running.url !== undefined ? { url: running.url } : {}),
    ended: running.ended,
    stop: () => running.stop(),
  };
}

async function configOf(config: string | LoadedConfig | undefined): Promise<LoadedConfig> {
  if (typeof config === "object") return config;
  if (typeof config === "string") return loadConfig(config);
  const location = locateConfig({});
  if (!location.found) {
    throw new AggregatorError(
      "CONFIG_NOT_FOUND",
      `no config file found (looked at ${location.searched.join(", ")}); pass { config: FILE } or run \`autonomous-mcp init\``,
      { details: { searched: location.searched } },
    );
  }
  return loadConfig(location.path);
}
