import * as z from "zod";
import { DEFAULTS } from "./defaults.js";
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
  maxSessions: posInt().default(H.maxSessions).describe(`Concurrent sessions. Default ${H.maxSessions}.`),
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

// ---- top level ----

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Unknown top-level keys are dropped silently (Claude Desktop files carry other keys). */
export const configSchema = z
  .object({
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
    http: httpSettingsSchema.prefault({}).describe("The HTTP front (serve --transport http)."),
    defaults: resilienceOverridesSchema
      .prefault({})
      .describe("Resilience settings applied under every server's own. Default {}."),
  })
  .transform(({ servers, mcpServers, ...rest }) => ({ ...rest, mcpServers: { ...servers, ...mcpServers } }));

export type Config = z.output<typeof configSchema>;
export type HttpSettings = z.output<typeof httpSettingsSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
