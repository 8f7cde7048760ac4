import * as z from "zod";
import { DEFAULTS } from "./defaults.js";
import { clusterSettingsSchema } from "./clusterSchema.js";
import { posInt, resilienceOverridesSchema, serverMapSchema, strings, text } from "./serverSchema.js";

/** The configuration file's schema (top level and the HTTP front); server entries are in serverSchema.ts. */

export {
  breakerSettingsSchema,
  resilienceOverridesSchema,
  resilienceSettingsSchema,
  restartSettingsSchema,
  retrySettingsSchema,
  SERVER_TYPE_ALIASES,
  serverEntrySchema,
  serverTypeSchema,
  toolOverrideSchema,
  toolsPolicySchema,
} from "./serverSchema.js";
export type {
  BreakerSettings,
  ResilienceOverrides,
  ResilienceSettings,
  RestartSettings,
  RetrySettings,
  ServerEntry,
  ServerType,
  ToolOverride,
  ToolsPolicy,
} from "./serverSchema.js";

const H = DEFAULTS.http;

// ---- HTTP front ----

/** Principal names appear in logs and metric labels: short, plain, and never "anonymous". */
export const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const principalSchema = z.strictObject({
  name: z
    .string()
    .regex(PRINCIPAL_NAME, "must be 1-64 characters from A-Z a-z 0-9 _ . - (starting with a letter or digit)")
    .refine((n) => n !== "anonymous", '"anonymous" is reserved for clients of a front without tokens')
    .describe("Name in logs, metrics and the audit lines; unique."),
  token: text().describe(
    "Bearer token of this principal, at least 16 characters after ${VAR} expansion (write ${VAR}, not the token). Never logged.",
  ),
  maxSessions: posInt()
    .optional()
    .describe("Sessions this principal may hold. Default http.maxSessionsPerPrincipal."),
});

export const httpSettingsSchema = z.strictObject({
  host: text().default(H.host).describe(`Interface to listen on. Default "${H.host}".`),
  port: z
    .int()
    .min(0)
    .max(65_535)
    .default(H.port)
    .describe(`TCP port (0 = any free port). Default ${H.port}.`),
  path: z
    .string()
    .startsWith("/", "must start with /")
    .default(H.path)
    .describe(`MCP endpoint path. Default "${H.path}".`),
  allowedHosts: strings()
    .default(() => [...H.allowedHosts])
    .describe("Host header values accepted besides loopback names. Default []."),
  allowedOrigins: strings()
    .default(() => [...H.allowedOrigins])
    .describe('Origin header values accepted ("*" = any). Default [].'),
  maxBodyBytes: posInt()
    .default(H.maxBodyBytes)
    .describe(`Largest request body, bytes. Default ${H.maxBodyBytes}.`),
  sessionIdleMs: posInt()
    .default(H.sessionIdleMs)
    .describe(`Idle time after which a session is closed, ms. Default ${H.sessionIdleMs}.`),
  resumeGraceMs: posInt()
    .default(H.resumeGraceMs)
    .describe(
      `A call whose client dropped its resumable SSE stream (protocol 2025-11-25 and later: the stream starts with a priming event) is cancelled when not resumed within this many ms; earlier protocols cannot resume, and their calls are cancelled at once. Default ${H.resumeGraceMs}.`,
    ),
  maxSessions: posInt()
    .default(H.maxSessions)
    .describe(
      `Hard ceiling on open sessions over all principals; past it a new session is refused (503), never another principal's evicted. Default ${H.maxSessions}.`,
    ),
  maxSessionsPerPrincipal: posInt()
    .optional()
    .describe(
      "Sessions one principal may hold; at the cap its own least recently used idle session is closed, or the new one refused (429) when all are in use. Default: maxSessions ÷ number of principals.",
    ),
  principals: z
    .array(principalSchema)
    .default(() => H.principals.map((p) => ({ ...p })))
    .describe(
      'Clients allowed in, each a name and its bearer token (the token of --auth-token / AUTONOMOUS_MCP_TOKEN is one more, named "default"). Sessions belong to the principal that opened them. Default [].',
    ),
  rateLimit: z
    .strictObject({
      requestsPerSecond: z
        .number()
        .positive()
        .default(H.rateLimit.requestsPerSecond)
        .describe(`Sustained rate. Default ${H.rateLimit.requestsPerSecond}.`),
      burst: posInt().default(H.rateLimit.burst).describe(`Bucket size. Default ${H.rateLimit.burst}.`),
    })
    .prefault({})
    .describe("Token-bucket rate limit of the HTTP front."),
});

// ---- audit log ----

const A = DEFAULTS.audit;

export const auditSettingsSchema = z.strictObject({
  file: text()
    .optional()
    .describe(
      "JSON Lines file every tools/call is appended to (absolute, or relative to the config file's folder; its folder is created). Unset: no audit log.",
    ),
  maxBytes: z
    .int()
    .min(1_024)
    .default(A.maxBytes)
    .describe(
      `Size in bytes at which the file is rotated (file → file.1 → … → file.<keep>). Default ${A.maxBytes} (10 MiB).`,
    ),
  keep: z
    .int()
    .min(1)
    .max(100)
    .default(A.keep)
    .describe(
      `Rotated files kept besides the current one (1..100); older ones are deleted. Default ${A.keep}.`,
    ),
  includePayloads: z
    .boolean()
    .default(A.includePayloads)
    .describe(
      `Also write each call's arguments, result and error text (secrets scrubbed; each cut at 64 KiB). Default ${A.includePayloads}: never.`,
    ),
});

// ---- top level ----

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Unknown top-level keys are dropped (Claude Desktop files carry other keys); the loader warns about
 * each (lint.ts). `configSchema.in` is the object as written (lint.ts, jsonSchema.ts).
 */
export const configSchema = z
  .object({
    $schema: z
      .string()
      .optional()
      .describe(
        "JSON Schema of this file, for editor completion (schema/servers.config.schema.json in the package). Ignored.",
      ),
    $comment: z.string().optional().describe("A comment. Ignored."),
    mcpServers: serverMapSchema().optional().describe("Downstream servers by name (Claude Desktop shape)."),
    servers: serverMapSchema()
      .optional()
      .describe("Alias of mcpServers (VS Code shape); merged, mcpServers wins."),
    namespaceSeparator: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{0,4}$/, "must be 0-4 characters from a-z A-Z 0-9 _ -")
      .default(DEFAULTS.namespaceSeparator)
      .describe(`Between a server's prefix and a tool name. Default "${DEFAULTS.namespaceSeparator}".`),
    maxToolNameLength: z
      .int()
      .min(8)
      .max(64)
      .default(DEFAULTS.maxToolNameLength)
      .describe(
        `Longest exposed tool name (8..64). Default ${DEFAULTS.maxToolNameLength} (mcp__hub__ + 54 = 64).`,
      ),
    exposure: z
      .enum(["all", "search"])
      .default(DEFAULTS.exposure)
      .describe(
        `"all" lists every tool; "search" lists only the search meta-tools. Default "${DEFAULTS.exposure}".`,
      ),
    readOnly: z
      .boolean()
      .default(DEFAULTS.readOnly)
      .describe(`Expose only read-only tools of every server. Default ${DEFAULTS.readOnly}.`),
    logLevel: z
      .enum(LOG_LEVELS)
      .default(DEFAULTS.logLevel)
      .describe(`pino log level. Default "${DEFAULTS.logLevel}".`),
    maxJsonDepth: z
      .int()
      .min(16)
      .max(2_000)
      .default(DEFAULTS.maxJsonDepth)
      .describe(
        `Deepest nesting (objects/arrays) accepted in a JSON message from a client or a server (16..2000); deeper ones are refused with an error for that message alone. Default ${DEFAULTS.maxJsonDepth}.`,
      ),
    maxSchemaNodes: posInt()
      .default(DEFAULTS.maxSchemaNodes)
      .describe(
        `Largest tool inputSchema (objects and arrays in it) compiled to validate arguments; a larger one is checked only for the object shape and its required keys, with a warning naming the tool. Default ${DEFAULTS.maxSchemaNodes}.`,
      ),
    workflows: z
      .record(z.string(), z.unknown())
      .default(() => ({}))
      .describe("Composite workflows by name; bodies are validated by the workflows module. Default {}."),
    workflowLimits: z
      .strictObject({
        maxForEachItems: posInt()
          .default(DEFAULTS.workflowLimits.maxForEachItems)
          .describe(
            `Items one forEach may iterate; a literal array over it is refused before any call. Default ${DEFAULTS.workflowLimits.maxForEachItems}.`,
          ),
        maxCallsPerRun: posInt()
          .default(DEFAULTS.workflowLimits.maxCallsPerRun)
          .describe(
            `Tool calls one workflow run may make (nested workflows and step retries included). Default ${DEFAULTS.workflowLimits.maxCallsPerRun}.`,
          ),
        maxInFlightPerRun: posInt()
          .default(DEFAULTS.workflowLimits.maxInFlightPerRun)
          .describe(
            `Calls of one run in flight at once, across its steps and forEach items. Default ${DEFAULTS.workflowLimits.maxInFlightPerRun}.`,
          ),
      })
      .prefault({})
      .describe("Fan-out bounds of every workflow run, configured or run_workflow (docs/workflows.md)."),
    builtinWorkflows: z
      .boolean()
      .default(DEFAULTS.builtinWorkflows)
      .describe(
        `Serve the shipped workflows whose tools are present (docs/workflows.md). Default ${DEFAULTS.builtinWorkflows}.`,
      ),
    cache: z
      .strictObject({
        maxEntries: z
          .int()
          .positive()
          .default(DEFAULTS.cache.maxEntries)
          .describe(`Most cached results. Default ${DEFAULTS.cache.maxEntries}.`),
        maxBytes: z
          .int()
          .positive()
          .default(DEFAULTS.cache.maxBytes)
          .describe(`Most bytes of cached results. Default ${DEFAULTS.cache.maxBytes}.`),
      })
      .prefault({})
      .describe(
        "Bounds of the shared result cache (per-tool TTLs are set with tools.overrides.<name>.cacheTtlMs).",
      ),
    telemetry: z
      .strictObject({
        recordPayloads: z
          .boolean()
          .default(DEFAULTS.telemetry.recordPayloads)
          .describe(
            `Record tool-call arguments and results on trace spans (gen_ai.tool.call.arguments / gen_ai.tool.call.result). They may hold secrets and personal data: off unless you opt in. Default ${DEFAULTS.telemetry.recordPayloads}.`,
          ),
        payloadMaxChars: z
          .int()
          .min(16)
          .max(1_000_000)
          .default(DEFAULTS.telemetry.payloadMaxChars)
          .describe(
            `Longest recorded payload (characters of its JSON; longer ones are cut). Only with recordPayloads. Default ${DEFAULTS.telemetry.payloadMaxChars}.`,
          ),
      })
      .prefault({})
      .describe(
        "OpenTelemetry traces (turned on by the standard OTEL_* environment variables, docs/observability.md): what spans may record.",
      ),
    heap: z
      .strictObject({
        governor: z
          .boolean()
          .default(DEFAULTS.heap.governor)
          .describe(
            `Bound the heap at run time by changing V8 flags after start-up (docs/operations.md#memory); Node warns this may crash the process. AUTONOMOUS_MCP_HEAP overrides it. Default ${DEFAULTS.heap.governor}.`,
          ),
        semiSpaceMb: z
          .int()
          .min(1)
          .max(1_000)
          .default(DEFAULTS.heap.semiSpaceMb)
          .describe(
            `With the governor: largest young-generation semi-space, MB (1..1000). Default ${DEFAULTS.heap.semiSpaceMb}.`,
          ),
        growingPercent: z
          .int()
          .min(1)
          .max(1_000)
          .default(DEFAULTS.heap.growingPercent)
          .describe(
            `With the governor: next full collection this many % above the live size (1..1000). Default ${DEFAULTS.heap.growingPercent}.`,
          ),
      })
      .prefault({})
      .describe("The run-time heap governor (serve only). Off by default."),
    startup: z
      .strictObject({
        graceMs: z
          .int()
          .min(0)
          .max(600_000)
          .default(DEFAULTS.startup.graceMs)
          .describe(
            `How long the first answer (stdio: the client's initialize; HTTP: listening) waits for servers still starting, ms (0..600000); servers ready later join with notifications/tools/list_changed. Default ${DEFAULTS.startup.graceMs}.`,
          ),
      })
      .prefault({})
      .describe("Start-up: how long to wait for slow servers before serving the ones that are ready."),
    http: httpSettingsSchema.prefault({}).describe("The HTTP front (serve --transport http)."),
    audit: auditSettingsSchema
      .prefault({})
      .describe(
        "The audit log: one JSON line per tools/call (docs/operations.md). Off unless audit.file is set.",
      ),
    cluster: clusterSettingsSchema
      .prefault({})
      .describe(
        "Cluster mode: state shared through Redis by every replica (docs/operations.md). Off unless a Redis URL is set.",
      ),
    defaults: resilienceOverridesSchema
      .prefault({})
      .describe("Resilience settings applied under every server's own. Default {}."),
  })
  .transform(({ servers, mcpServers, ...rest }) => ({ ...rest, mcpServers: { ...servers, ...mcpServers } }));

export type Config = z.output<typeof configSchema>;
export type HttpSettings = z.output<typeof httpSettingsSchema>;
export type AuditSettings = z.output<typeof auditSettingsSchema>;
export type PrincipalEntry = z.output<typeof principalSchema>;
export type { BucketSettings, ClusterSettings } from "./clusterSchema.js";
export type LogLevel = (typeof LOG_LEVELS)[number];
