import * as z from "zod";
import { DEFAULTS } from "./defaults.js";
import { posInt, text } from "./serverSchema.js";

/** The `cluster` section: Redis-shared state (src/cluster/), idempotency and tools/call rate limits. */

const C = DEFAULTS.cluster;

const bucketSchema = (what: string) =>
  z
    .strictObject({
      requestsPerSecond: z.number().positive().describe("Sustained tools/call rate, calls per second."),
      burst: posInt().describe("Bucket size: calls allowed at once after a quiet spell."),
    })
    .optional()
    .describe(
      `Token bucket of tools/call per ${what}, shared by every replica in cluster mode. Unset: none.`,
    );

export const clusterSettingsSchema = z.strictObject({
  redisUrl: text()
    .regex(
      /^(rediss?:\/\/|\$\{)/,
      'must start with "redis://" or "rediss://" (or a ${VAR} holding such a URL)',
    )
    .optional()
    .describe(
      "Redis URL (redis://[user:password@]host:port[/db], rediss:// for TLS; ${VAR} expanded): turns cluster mode on. --redis and AUTONOMOUS_MCP_REDIS_URL take precedence. Unset: one process, state in memory.",
    ),
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:{}-]{1,64}$/, "must be 1-64 characters from A-Z a-z 0-9 _ . : { } -")
    .default(C.keyPrefix)
    .describe(
      `Prefix of every Redis key and pub/sub channel, so several deployments can share one Redis. Default "${C.keyPrefix}".`,
    ),
  replicaId: text()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, "must be 1-128 characters from A-Z a-z 0-9 _ . : -")
    .optional()
    .describe("This replica's name in Redis records, logs and /readyz. Default: <hostname>-<pid>."),
  connectTimeoutMs: posInt()
    .default(C.connectTimeoutMs)
    .describe(`How long one connection attempt to Redis may take, ms. Default ${C.connectTimeoutMs}.`),
  commandTimeoutMs: posInt()
    .default(C.commandTimeoutMs)
    .describe(
      `A Redis command not answered within this fails the call that needed it (CLUSTER_STATE_UNAVAILABLE), ms. Default ${C.commandTimeoutMs}.`,
    ),
  reconnect: z
    .strictObject({
      minDelayMs: posInt()
        .default(C.reconnect.minDelayMs)
        .describe(`First delay before reconnecting, ms. Default ${C.reconnect.minDelayMs}.`),
      maxDelayMs: posInt()
        .default(C.reconnect.maxDelayMs)
        .describe(
          `Longest delay between reconnect attempts (it doubles up to this), ms. Default ${C.reconnect.maxDelayMs}.`,
        ),
    })
    .prefault({})
    .describe("Reconnecting to Redis after it went away: forever, with exponential backoff."),
  probeLockMs: posInt()
    .default(C.probeLockMs)
    .describe(
      `Longest time one replica holds a server's half-open probe lock (released as soon as the probe ends), ms. Default ${C.probeLockMs}.`,
    ),
  ownerLeaseMs: posInt()
    .min(300)
    .default(C.ownerLeaseMs)
    .describe(
      `Time to live of a stateful (serializeWrites) server's owner lease: one replica runs its writes, the others forward them; when the owner dies its lease moves after at most this, ms (300 or more). Default ${C.ownerLeaseMs}.`,
    ),
  idempotency: z
    .strictObject({
      windowMs: posInt()
        .default(C.idempotency.windowMs)
        .describe(
          `How long after a call with _meta["io.autonomous-mcp/idempotencyKey"] ended a repeat with the same key gets the recorded outcome instead of running again, ms. Default ${C.idempotency.windowMs}.`,
        ),
      runningTtlMs: posInt()
        .default(C.idempotency.runningTtlMs)
        .describe(
          `Longest time a running call holds its key (frees the key when the replica running it died), ms. Default ${C.idempotency.runningTtlMs}.`,
        ),
      waitMs: posInt()
        .default(C.idempotency.waitMs)
        .describe(
          `How long a repeat that arrives while the first call still runs waits for its outcome, ms. Default ${C.idempotency.waitMs}.`,
        ),
    })
    .prefault({})
    .describe(
      "At-most-once tools/call per idempotency key (in memory when embedded, in Redis in cluster mode).",
    ),
  rateLimits: z
    .strictObject({
      perClient: bucketSchema("client (the HTTP principal, else the session)"),
      perServer: bucketSchema("downstream server"),
    })
    .prefault({})
    .describe("tools/call rate limits; a call over a limit fails with RATE_LIMITED. Default: none."),
});

export type ClusterSettings = z.output<typeof clusterSettingsSchema>;
export type BucketSettings = NonNullable<ClusterSettings["rateLimits"]["perClient"]>;
