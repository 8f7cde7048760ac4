import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { DEFAULTS } from "./defaults.js";
import type { EnvSource } from "./expand.js";

/** Where the config came from: the flag, the variable, the working directory or the user's config folder. */
export type ConfigSource = "--config" | "AUTONOMOUS_MCP_CONFIG" | "working directory" | "user config";

export interface ConfigLocation {
  /** Absolute path of the file to load (the first candidate when none exists). */
  readonly path: string;
  readonly source: ConfigSource;
  /** True when the file exists (an explicit --config / AUTONOMOUS_MCP_CONFIG is never second-guessed). */
  readonly found: boolean;
  /** Every absolute path looked at, in order: what the not-found message lists. */
  readonly searched: readonly string[];
}

/**
 * The per-user config file `autonomous-mcp init` writes and the lookup falls back to:
 * `$XDG_CONFIG_HOME/autonomous-mcp/servers.config.json`, else `~/.config/autonomous-mcp/servers.config.json`.
 * A relative XDG_CONFIG_HOME is ignored, as the XDG Base Directory specification says.
 */
export function userConfigPath(env: EnvSource = process.env): string {
  const xdg = env["XDG_CONFIG_HOME"];
  const base =
    xdg && path.isAbsolute(xdg) ? xdg : path.join(env["HOME"] || homedir(), DEFAULTS.userConfigDir);
  return path.join(base, DEFAULTS.appDirName, DEFAULTS.configFile);
}

/**
 * The config lookup, in order: `--config FILE`; `$AUTONOMOUS_MCP_CONFIG`; `./servers.config.json`
 * if it exists; the user config (userConfigPath) if it exists. Relative paths resolve against `cwd`.
 */
export function locateConfig(
  argv: { readonly config?: string | undefined },
  env: EnvSource = process.env,
  cwd: string = process.cwd(),
): ConfigLocation {
  const explicit: [string | undefined, ConfigSource][] = [
    [argv.config, "--config"],
    [env[DEFAULTS.configEnvVar], "AUTONOMOUS_MCP_CONFIG"],
  ];
  for (const [value, source] of explicit) {
    if (!value) continue;
    const chosen = path.resolve(cwd, value);
    return { path: chosen, source, found: existsSync(chosen), searched: [chosen] };
  }
  const local = path.resolve(cwd, DEFAULTS.configFile);
  const user = userConfigPath(env);
  const searched = [local, user];
  if (existsSync(local)) return { path: local, source: "working directory", found: true, searched };
  if (existsSync(user)) return { path: user, source: "user config", found: true, searched };
  return { path: local, source: "working directory", found: false, searched };
}
