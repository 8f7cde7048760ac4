import { profileFor } from "../profiles/index.js";
import { DEFAULTS } from "./defaults.js";
import { expandEntry, expandString, lookupEnv, type EnvSource } from "./expand.js";
import { formatPath } from "./problems.js";
import type { ResilienceOverrides, ResilienceSettings, ServerEntry, ServerType } from "./schema.js";

/**
 * One server entry → the settings the rest of the aggregator uses: defaults merged
 * (DEFAULTS.resilience < top-level `defaults` < the entry), `${VAR}` expanded, type inferred,
 * prefix resolved and the reason to skip it, if any.
 */

type ResilienceKey = keyof ResilienceSettings;

export type ResolvedServer = Omit<ServerEntry, ResilienceKey | "type" | "prefix"> &
  ResilienceSettings & {
    /** The entry's key in mcpServers/servers. */
    readonly name: string;
    /** Normalised (streamable-http → http) or inferred from command/url. */
    readonly type: ServerType;
    /** The entry's `prefix`, else its key; "" = unprefixed. Sanitised by the catalog, not here. */
    readonly prefix: string;
    /** Variables referenced as `${VAR}` (no default) that are unset or empty. */
    readonly unresolvedEnv: readonly string[];
    /** Set when the server must not be started: DISABLED_REASON or "set NAME1, NAME2". */
    readonly skipReason?: string;
    /** The top-level maxJsonDepth, for the server's transport (set by the loader). */
    readonly maxJsonDepth?: number;
  };

/** The skip reason of an entry with `"enabled": false` or `"disabled": true`. */
export const DISABLED_REASON = "disabled in config";

/**
 * DEFAULTS.resilience < `defaults` < `own`, nested objects merged key by key. `profile` holds what a
 * built-in profile needs (server-memory: serializeWrites); it wins over `defaults`, not over `own`.
 */
export function mergeResilience(
  defaults: ResilienceOverrides,
  own: ResilienceOverrides,
  profile: Pick<ResilienceOverrides, "serializeWrites"> = {},
): ResilienceSettings {
  const R = DEFAULTS.resilience;
  return {
    connectTimeoutMs: own.connectTimeoutMs ?? defaults.connectTimeoutMs ?? R.connectTimeoutMs,
    timeoutMs: own.timeoutMs ?? defaults.timeoutMs ?? R.timeoutMs,
    totalTimeoutMs: own.totalTimeoutMs ?? defaults.totalTimeoutMs ?? R.totalTimeoutMs,
    retry: { ...R.retry, ...defaults.retry, ...own.retry },
    breaker: { ...R.breaker, ...defaults.breaker, ...own.breaker },
    maxConcurrency: own.maxConcurrency ?? defaults.maxConcurrency ?? R.maxConcurrency,
    maxQueue: own.maxQueue ?? defaults.maxQueue ?? R.maxQueue,
    serializeWrites:
      own.serializeWrites ?? profile.serializeWrites ?? defaults.serializeWrites ?? R.serializeWrites,
    maxWriteQueueBytes: own.maxWriteQueueBytes ?? defaults.maxWriteQueueBytes ?? R.maxWriteQueueBytes,
    restart: { ...R.restart, ...defaults.restart, ...own.restart },
    healthCheckIntervalMs:
      own.healthCheckIntervalMs ?? defaults.healthCheckIntervalMs ?? R.healthCheckIntervalMs,
    maxResultBytes: own.maxResultBytes ?? defaults.maxResultBytes ?? R.maxResultBytes,
  };
}

function isSseUrl(url: string): boolean {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? "";
  }
  return /\/sse\/?$/.test(path);
}

function isHttpUrl(url: string): boolean {
  try {
    const protocol = new URL(url).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

export interface ServerResolution {
  readonly server: ResolvedServer;
  /** Problem lines without the source-name prefix; non-empty means the config is invalid. */
  readonly problems: readonly string[];
}

export function resolveServer(
  name: string,
  entry: ServerEntry,
  defaults: ResilienceOverrides,
  env: EnvSource,
  at: readonly PropertyKey[],
): ServerResolution {
  const where = (...path: PropertyKey[]): string => formatPath([...at, ...path]);
  const { type: declaredType, prefix, ...rest } = entry;
  const expansion = expandEntry(entry, env, at);
  const fields = expansion.fields;
  const problems = [...expansion.problems];

  if (fields.url !== undefined && !expansion.unresolvedIn.has("url") && !isHttpUrl(fields.url)) {
    const after = entry.url?.includes("${") ? " after ${VAR} expansion" : "";
    problems.push(`${where("url")}: not a valid http(s) URL${after}`);
  }
  const builtin = profileFor({ profile: entry.profile, command: fields.command, args: fields.args });
  const resilience = mergeResilience(defaults, entry, builtin?.defaults);
  if (resilience.retry.minTimeoutMs > resilience.retry.maxTimeoutMs) {
    problems.push(
      `${where("retry")}: minTimeoutMs (${resilience.retry.minTimeoutMs}) must be <= maxTimeoutMs (${resilience.retry.maxTimeoutMs})`,
    );
  }
  if (resilience.restart.initialDelayMs > resilience.restart.maxDelayMs) {
    problems.push(
      `${where("restart")}: initialDelayMs (${resilience.restart.initialDelayMs}) must be <= maxDelayMs (${resilience.restart.maxDelayMs})`,
    );
  }

  const type: ServerType =
    declaredType ?? (fields.command !== undefined ? "stdio" : isSseUrl(fields.url ?? "") ? "sse" : "http");
  const missing = entry.requiredEnv.filter((n) => lookupEnv(env, n) === undefined && !fields.env[n]);
  const toSet = [...new Set([...missing, ...expansion.unresolved])];
  const off = !entry.enabled || entry.disabled === true;
  const skipReason = off ? DISABLED_REASON : toSet.length > 0 ? `set ${toSet.join(", ")}` : undefined;

  // auth.clientSecret / auth.privateKey: ${VAR} expanded (and scrubbed from the logs: secrets.ts).
  const expandedAuth = { ...entry.auth };
  for (const key of ["clientSecret", "privateKey"] as const) {
    const raw = entry.auth?.[key];
    if (raw === undefined) continue;
    const secret = expandString(raw, env);
    if (secret.unresolved.length > 0)
      problems.push(`${where("auth", key)}: unset ${secret.unresolved.join(", ")}`);
    expandedAuth[key] = secret.value;
  }
  if (entry.auth?.idp) {
    const idp = { ...entry.auth.idp };
    for (const key of ["clientSecret", "idToken"] as const) {
      const raw = entry.auth.idp[key];
      if (raw === undefined) continue;
      const secret = expandString(raw, env);
      if (secret.unresolved.length > 0)
        problems.push(`${where("auth", "idp", key)}: unset ${secret.unresolved.join(", ")}`);
      idp[key] = secret.value;
    }
    expandedAuth.idp = idp;
  }
  const server: ResolvedServer = {
    name,
    ...rest,
    ...(entry.auth ? { auth: { ...entry.auth, ...expandedAuth } } : {}),
    ...fields,
    ...resilience,
    type,
    prefix: prefix ?? name,
    unresolvedEnv: expansion.unresolved,
    ...(skipReason === undefined ? {} : { skipReason }),
  };
  return { server, problems };
}
