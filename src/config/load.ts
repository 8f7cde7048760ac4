import { readFile } from "node:fs/promises";
import path from "node:path";
import { AggregatorError } from "../errorCore.js";
import { isObject as isRecord } from "../jsonrpc/isObject.js";
import { deepFreeze } from "./defaults.js";
import type { EnvSource } from "./expand.js";
import { parseJsonc } from "./jsonc.js";
import { checkConfig } from "./check.js";
import { locateConfig } from "./locate.js";
import { resolveServer, type ResolvedServer } from "./resolve.js";
import type { Config } from "./schema.js";

export type { EnvSource } from "./expand.js";
export type { ResolvedServer } from "./resolve.js";
export type {
  BreakerSettings,
  Config,
  HttpSettings,
  ResilienceOverrides,
  ResilienceSettings,
  RestartSettings,
  RetrySettings,
  ServerEntry,
  ServerType,
  ToolOverride,
  ToolsPolicy,
} from "./schema.js";

export interface LoadedConfig {
  /** The validated file with defaults applied (server entries as written: not expanded, not merged). */
  readonly config: Config;
  /** Every server entry resolved (defaults merged, ${VAR} expanded), sorted by name. */
  readonly servers: readonly ResolvedServer[];
  /** One line each, prefixed with the source name; the config is usable despite them. */
  readonly warnings: readonly string[];
  /** Absolute path of the file (loadConfig) or the source name (parseConfig). */
  readonly path: string;
}

export interface LoadOptions {
  /** Where ${VAR} and requiredEnv are looked up. Default process.env. */
  readonly env?: EnvSource;
}

/**
 * `--config FILE`, else $AUTONOMOUS_MCP_CONFIG, else ./servers.config.json if it exists, else the user
 * config ($XDG_CONFIG_HOME/autonomous-mcp/servers.config.json) if it exists, else ./servers.config.json;
 * absolute, against `cwd`. The whole lookup (with the places searched) is locateConfig in locate.ts.
 */
export function resolveConfigPath(
  argv: { readonly config?: string | undefined },
  env: EnvSource = process.env,
  cwd: string = process.cwd(),
): string {
  return locateConfig(argv, env, cwd).path;
}

/** Reads, parses, validates, expands and deep-freezes the config file. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  const source = path.basename(absolute);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new AggregatorError("CONFIG_NOT_FOUND", `${source}: not found at ${absolute}`, {
        cause: error,
        details: { path: absolute },
      });
    }
    throw invalid([`${source}: cannot read ${absolute}: ${code ?? String(error)}`], absolute, error);
  }
  return build(text, source, absolute, options.env ?? process.env);
}

/** The pure part of loadConfig, for tests and embedders: `sourceName` prefixes every problem and warning. */
export function parseConfig(text: string, sourceName: string, options: LoadOptions = {}): LoadedConfig {
  return build(text, sourceName, sourceName, options.env ?? process.env);
}

/**
 * CONFIG_INVALID with every problem (the message, one per line) and, in `details`, the warnings found
 * on the way and the workflow definitions when the schema accepted the file (`validate` prints them all
 * and checks those workflows, so one round fixes everything). Never the server entries: they may hold
 * secrets.
 */
function invalid(
  problems: string[],
  where: string,
  cause?: unknown,
  extra: { warnings?: string[]; workflows?: Config["workflows"] } = {},
): AggregatorError {
  return new AggregatorError("CONFIG_INVALID", problems.join("\n"), {
    cause,
    details: {
      problems,
      path: where,
      warnings: extra.warnings ?? [],
      ...(extra.workflows ? { workflows: extra.workflows } : {}),
    },
  });
}

function build(text: string, source: string, where: string, env: EnvSource): LoadedConfig {
  const prefix = (line: string): string => `${source}: ${line}`;
  const parsed = parseJsonc(text);
  if (parsed.syntax !== undefined) throw invalid([prefix(parsed.syntax)], where);
  const raw = parsed.value;
  const checked = checkConfig(raw, parsed.shadowed);
  const problems = [...parsed.duplicates, ...checked.problems];
  const warnings = [...checked.warnings];
  const config = checked.config;
  const servers: ResolvedServer[] = [];
  if (config !== undefined) {
    const rawMaps = isRecord(raw) ? raw : {};
    const fromMcp = isRecord(rawMaps["mcpServers"]) ? rawMaps["mcpServers"] : {};
    const fromVsCode = isRecord(rawMaps["servers"]) ? rawMaps["servers"] : {};
    for (const name of Object.keys(fromVsCode)) {
      if (Object.hasOwn(fromMcp, name))
        warnings.push(`servers.${name}: also defined in mcpServers; using mcpServers.${name}`);
    }
    const names = Object.keys(config.mcpServers).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (names.length === 0) warnings.push("no servers defined (mcpServers is empty or missing)");
    // Resolved even when the checks above found problems: its own problems are reported in the same round.
    for (const name of names) {
      const entry = config.mcpServers[name];
      if (entry === undefined) continue;
      const origin = Object.hasOwn(fromMcp, name) ? "mcpServers" : "servers";
      const resolution = resolveServer(name, entry, config.defaults, env, [origin, name]);
      problems.push(...resolution.problems);
      servers.push({ ...resolution.server, maxJsonDepth: config.maxJsonDepth });
    }
  }
  if (config === undefined || problems.length > 0) {
    throw invalid(problems.map(prefix), where, undefined, {
      warnings: warnings.map(prefix),
      ...(config ? { workflows: config.workflows } : {}),
    });
  }
  return deepFreeze({ config, servers, warnings: warnings.map(prefix), path: where });
}
