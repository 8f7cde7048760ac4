/**
 * Every default of the configuration, in one place. The schema (schema.ts) and the loader (resolve.ts)
 * read from here; docs/configuration.md lists the same values.
 */

export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Recursively freezes objects and arrays in place (JSON-shaped data: no cycles) and returns the same value. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const defaults = {
  /** File looked up in the working directory when neither --config nor AUTONOMOUS_MCP_CONFIG is given. */
  configFile: "servers.config.json",
  /** Environment variable naming the config file. */
  configEnvVar: "AUTONOMOUS_MCP_CONFIG",
  /** The per-user config folder under $HOME when XDG_CONFIG_HOME is unset (config/locate.ts). */
  userConfigDir: ".config",
  /** Our folder inside the user config folder: $XDG_CONFIG_HOME/autonomous-mcp/servers.config.json. */
  appDirName: "autonomous-mcp",

  namespaceSeparator: "_",
  /** 54 leaves room for Claude's `mcp__hub__` prefix (10 characters) under its 64-character limit. */
  maxToolNameLength: 54,
  exposure: "all" as const,
  readOnly: false,
  builtinWorkflows: true,
  workflowLimits: { maxForEachItems: 100, maxCallsPerRun: 1_000, maxInFlightPerRun: 16 },
  cache: { maxEntries: 1_000, maxBytes: 16 * 1024 * 1024 },
  /** Tracing payload switches (tracing itself is turned on by the OTEL_* environment variables). */
  telemetry: { recordPayloads: false, payloadMaxChars: 4096 },
  logLevel: "info" as const,
  /**
   * How long a client's initialize (stdio) or the HTTP listener waits for servers that are still
   * starting; later ones join with list_changed (docs/adr/0003).
   */
  startup: { graceMs: 3_000 },
  /** Deepest nesting accepted in any JSON message from a client or a server (src/jsonrpc/depth.ts). */
  maxJsonDepth: 512,
  /** Largest inputSchema (objects + arrays in it) compiled for argument validation (validate.ts). */
  maxSchemaNodes: 250,
  /**
   * The run-time heap governor (src/heap.ts): off unless asked for, because it changes V8 flags after
   * start-up, which Node documents as unsafe. Its bounds when on: MB per semi-space, % growth.
   */
  heap: { governor: false, semiSpaceMb: 2, growingPercent: 50 },

  /** The audit log (src/audit/): off until `audit.file` is set. */
  audit: { maxBytes: 10 * 1024 * 1024, keep: 5, includePayloads: false },

  /** The requestState of input_required exchanges (src/bridge/state.ts): how long a sealed one is valid. */
  security: { requestStateTtlMs: 600_000 },
  /** Calls of 2026-07-28 clients held while a 2025-era server waits for their input (src/bridge/held.ts). */
  bridge: { maxHeldCalls: 100, heldCallTimeoutMs: 300_000 },

  http: {
    host: "127.0.0.1",
    port: 3000,
    path: "/mcp",
    allowedHosts: [] as string[],
    allowedOrigins: [] as string[],
    maxBodyBytes: 4_194_304,
    sessionIdleMs: 1_800_000,
    /** Hard ceiling on open sessions over all principals: past it new sessions are refused (503). */
    maxSessions: 100,
    /**
     * Sessions one principal may hold; undefined = its fair share, maxSessions ÷ number of principals
     * (rounded down, at least 1), so that together they never reach the ceiling.
     */
    maxSessionsPerPrincipal: undefined as number | undefined,
    principals: [] as { name: string; token: string; maxSessions?: number }[],
    resumeGraceMs: 10_000,
    rateLimit: { requestsPerSecond: 50, burst: 100 },
  },

  /**
   * Cluster mode (src/cluster/): shared state in Redis when a URL is given (--redis, AUTONOMOUS_MCP_REDIS_URL,
   * cluster.redisUrl); without one, everything stays in this process. Idempotency and the rate limits
   * work in both modes (in memory when embedded). docs/adr/0022-cluster-state.md.
   */
  cluster: {
    redisUrl: undefined as string | undefined,
    /** Prefix of every Redis key and channel: several deployments may share one Redis. */
    keyPrefix: "autonomous-mcp:",
    /** Default replica id: `${hostname}-${pid}` (computed at start-up, src/cluster/settings.ts). */
    replicaId: undefined as string | undefined,
    connectTimeoutMs: 2_000,
    /** A Redis command not answered within this is failed (CLUSTER_STATE_UNAVAILABLE). */
    commandTimeoutMs: 1_000,
    /** Reconnect backoff: doubles from min to max, forever. */
    reconnect: { minDelayMs: 100, maxDelayMs: 5_000 },
    /** How long one replica holds the half-open probe lock of a server at most (released when the probe ends). */
    probeLockMs: 30_000,
    /** A stateful server's owner lease (src/cluster/owners.ts): a dead owner's writes move after this. */
    ownerLeaseMs: 3_000,
    idempotency: {
      /** A key's recorded outcome is kept (and a repeat answered from it) this long after the call ended. */
      windowMs: 600_000,
      /** A call still running holds its key at most this long (the owner replica may die). */
      runningTtlMs: 300_000,
      /** How long a concurrent repeat waits for the first call's outcome. */
      waitMs: 60_000,
    },
    /** tools/call rate limits (token buckets), off unless set. */
    rateLimits: {
      perClient: undefined as { requestsPerSecond: number; burst: number } | undefined,
      perServer: undefined as { requestsPerSecond: number; burst: number } | undefined,
    },
  },

  /** Per-server values that are not resilience settings (these cannot be set under top-level `defaults`). */
  server: {
    args: [] as string[],
    env: {} as Record<string, string>,
    headers: {} as Record<string, string>,
    enabled: true,
    requiredEnv: [] as string[],
    trustAnnotations: true,
    readOnly: false,
    tools: { allow: [] as string[], deny: [] as string[] },
    /** Per-client downstream connections one server may have at once (HTTP front, sessionMode "per-client"). */
    maxClientConnections: 32,
  },

  /** Per-server resilience settings; top-level `defaults` may override any of them for every server. */
  resilience: {
    connectTimeoutMs: 30_000,
    timeoutMs: 60_000,
    totalTimeoutMs: 180_000,
    retry: { retries: 2, minTimeoutMs: 200, maxTimeoutMs: 2_000, factor: 2, randomize: true },
    breaker: {
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      rollingCountTimeoutMs: 10_000,
      resetTimeoutMs: 30_000,
    },
    maxConcurrency: 16,
    maxQueue: 64,
    serializeWrites: false,
    maxWriteQueueBytes: 16 * 1024 * 1024,
    restart: { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 30_000 },
    healthCheckIntervalMs: 30_000,
    /** 8 MiB: under the 10 MB a 1.x SDK stdio client accepts in one message. */
    maxResultBytes: 8 * 1024 * 1024,
  },
};

export const DEFAULTS: DeepReadonly<typeof defaults> = deepFreeze(defaults);
