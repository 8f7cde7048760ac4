import { hostname } from "node:os";
import type { ClusterSettings } from "../config/schema.js";
import { AggregatorError } from "../errors.js";
import { expandString } from "../config/expand.js";

/** The cluster settings in force: the config's `cluster` section with the URL and replica id resolved. */
export type ClusterOptions = Readonly<Omit<ClusterSettings, "redisUrl" | "replicaId">> & {
  readonly redisUrl: string;
  readonly replicaId: string;
};

/** Environment variable holding the Redis URL (beneath --redis, above cluster.redisUrl). */
export const REDIS_URL_ENV = "AUTONOMOUS_MCP_REDIS_URL";

/**
 * Which Redis URL turns cluster mode on: the --redis flag, else $AUTONOMOUS_MCP_REDIS_URL, else
 * cluster.redisUrl; undefined (embedded mode) when none is set.
 */
export function redisUrlOf(
  settings: ClusterSettings,
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const fromEnv = env[REDIS_URL_ENV];
  if (flag) return flag;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (settings.redisUrl === undefined) return undefined;
  // ${VAR} / ${VAR:-default} in the config's URL (a password kept in the environment).
  const expanded = expandString(settings.redisUrl, env);
  if (expanded.unresolved.length > 0)
    throw new AggregatorError(
      "CONFIG_INVALID",
      `cluster.redisUrl: \${${expanded.unresolved[0] ?? ""}} is not set (the Redis URL of cluster mode)`,
    );
  return expanded.value;
}

/** The options of a cluster-mode replica, or undefined in embedded mode. */
export function clusterOptions(
  settings: ClusterSettings,
  flag?: string | undefined,
  env?: NodeJS.ProcessEnv,
): ClusterOptions | undefined {
  const redisUrl = redisUrlOf(settings, flag, env);
  if (redisUrl === undefined) return undefined;
  if (!isRedisUrl(redisUrl))
    throw new AggregatorError(
      "CONFIG_INVALID",
      `the Redis URL must start with "redis://" or "rediss://" (from ${flag ? "--redis" : env?.[REDIS_URL_ENV] || process.env[REDIS_URL_ENV] ? REDIS_URL_ENV : "cluster.redisUrl"}), got "${redactedUrl(redisUrl)}"`,
    );
  return { ...settings, redisUrl, replicaId: settings.replicaId ?? `${hostname()}-${process.pid}` };
}

/** A redis:// or rediss:// URL (the only schemes cluster mode connects to). */
export function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\/./.test(url);
}

/** The URL without its password, for logs, /readyz and error messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable Redis URL)";
  }
}
