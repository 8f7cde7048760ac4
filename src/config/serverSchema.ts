import * as z from "zod";
import { DEFAULTS } from "./defaults.js";

/**
 * Schema of one server entry and of the resilience settings. Resilience settings carry no zod defaults:
 * resolve.ts merges DEFAULTS.resilience < top-level `defaults` < the server's own values, so the schema
 * must keep "not set" distinguishable from "set to the default value".
 */

const R = DEFAULTS.resilience;
const S = DEFAULTS.server;

// Field builders shared with schema.ts.
export const posInt = () => z.int().positive();
export const nonNegInt = () => z.int().nonnegative();
export const text = () => z.string().min(1, "must not be empty");
export const strings = () => z.array(z.string());
export const stringMap = () => z.record(z.string(), z.string());

// ---- resilience (full settings types + partial override schemas) ----

export const retrySettingsSchema = z.strictObject({
  retries: z
    .int()
    .min(0)
    .max(10)
    .describe(`Retries after the first attempt (0..10). Default ${R.retry.retries}.`),
  minTimeoutMs: nonNegInt().describe(`Delay before the first retry, ms. Default ${R.retry.minTimeoutMs}.`),
  maxTimeoutMs: nonNegInt().describe(`Upper bound of a retry delay, ms. Default ${R.retry.maxTimeoutMs}.`),
  factor: z.number().min(1).describe(`Exponential growth factor of the delay. Default ${R.retry.factor}.`),
  randomize: z
    .boolean()
    .describe(`Multiply each delay by a random 1..2 (jitter). Default ${R.retry.randomize}.`),
});

export const breakerSettingsSchema = z.strictObject({
  errorThresholdPercentage: z
    .number()
    .min(1)
    .max(100)
    .describe(
      `Failure percentage in the rolling window that opens the breaker. Default ${R.breaker.errorThresholdPercentage}.`,
    ),
  volumeThreshold: nonNegInt().describe(
    `Calls in the window before the breaker may open. Default ${R.breaker.volumeThreshold}.`,
  ),
  rollingCountTimeoutMs: posInt().describe(
    `Length of the rolling window, ms. Default ${R.breaker.rollingCountTimeoutMs}.`,
  ),
  resetTimeoutMs: posInt().describe(
    `Time an open breaker waits before a trial call, ms. Default ${R.breaker.resetTimeoutMs}.`,
  ),
});

export const restartSettingsSchema = z.strictObject({
  maxRestarts: nonNegInt().describe(
    `Restarts allowed within windowMs before the server is failed. Default ${R.restart.maxRestarts}.`,
  ),
  windowMs: posInt().describe(`Sliding window of the restart budget, ms. Default ${R.restart.windowMs}.`),
  initialDelayMs: nonNegInt().describe(
    `Delay before the first restart, ms. Default ${R.restart.initialDelayMs}.`,
  ),
  maxDelayMs: nonNegInt().describe(`Upper bound of a restart delay, ms. Default ${R.restart.maxDelayMs}.`),
});

export const resilienceSettingsSchema = z.strictObject({
  connectTimeoutMs: posInt().describe(
    `Time to spawn/connect, answer server/discover or initialize, and list, ms (stdio: a probe unanswered for 5 s, or this if shorter, means a 2025-era server). Default ${R.connectTimeoutMs}.`,
  ),
  timeoutMs: posInt().describe(`Timeout of one call attempt, ms. Default ${R.timeoutMs}.`),
  totalTimeoutMs: posInt().describe(`Budget of one call including retries, ms. Default ${R.totalTimeoutMs}.`),
  retry: retrySettingsSchema.describe("Retry policy for retry-safe calls."),
  breaker: breakerSettingsSchema.describe("Circuit breaker of this server."),
  maxConcurrency: posInt().describe(`Calls in flight at once. Default ${R.maxConcurrency}.`),
  maxQueue: nonNegInt().describe(`Calls waiting for a slot before SERVER_BUSY. Default ${R.maxQueue}.`),
  serializeWrites: z
    .boolean()
    .describe(`Run non-read-only calls one at a time. Default ${R.serializeWrites}.`),
  maxWriteQueueBytes: posInt().describe(
    `stdio: bytes of requests waiting for the server to read its stdin before new calls fail at once (SERVER_BUSY). Default ${R.maxWriteQueueBytes} (16 MiB).`,
  ),
  restart: restartSettingsSchema.describe("Restart policy of a crashed stdio server or dropped connection."),
  healthCheckIntervalMs: nonNegInt().describe(
    `Ping interval, ms; 0 = off. Default ${R.healthCheckIntervalMs}.`,
  ),
  maxResultBytes: posInt().describe(
    `Largest answer accepted from the server, bytes; a larger tools/call result becomes an isError result naming the size (stdio servers). Default ${R.maxResultBytes} (8 MiB).`,
  ),
});

/** Every field optional, nested objects partial too: the shape of top-level `defaults` and of a server's own values. */
export const resilienceOverridesSchema = z.strictObject({
  ...resilienceSettingsSchema.partial().shape,
  retry: retrySettingsSchema.partial().optional().describe("Retry policy (partial; merged key by key)."),
  breaker: breakerSettingsSchema
    .partial()
    .optional()
    .describe("Circuit breaker (partial; merged key by key)."),
  restart: restartSettingsSchema
    .partial()
    .optional()
    .describe("Restart policy (partial; merged key by key)."),
});

// ---- server entry ----

export const toolOverrideSchema = z.strictObject({
  annotations: z
    .strictObject({
      readOnlyHint: z.boolean().optional().describe("The tool does not modify its environment."),
      idempotentHint: z
        .boolean()
        .optional()
        .describe("Repeating the call with the same arguments has no further effect."),
      destructiveHint: z.boolean().optional().describe("The tool may perform destructive updates."),
      openWorldHint: z.boolean().optional().describe("The tool talks to an open world of external entities."),
      title: z.string().optional().describe("Human-readable title."),
    })
    .optional()
    .describe("Annotations replacing the downstream's, key by key."),
  description: z.string().optional().describe("Description replacing the downstream's."),
  cacheTtlMs: nonNegInt().optional().describe("Cache results of this tool for this long, ms (0 = no cache)."),
  timeoutMs: posInt().optional().describe("Per-attempt timeout of this tool, ms (overrides the server's)."),
});

export const toolsPolicySchema = z.strictObject({
  allow: strings()
    .default(() => [...S.tools.allow])
    .describe("Globs (* and ?) of original tool names to expose; empty = all. Default []."),
  deny: strings()
    .default(() => [...S.tools.deny])
    .describe("Globs of original tool names to hide; wins over allow. Default []."),
  overrides: z
    .record(z.string(), toolOverrideSchema)
    .default(() => ({}))
    .describe("Per-tool overrides keyed by the downstream's original tool name. Default {}."),
});

/** The transport types accepted in `type`, and what each normalises to. */
export const SERVER_TYPE_ALIASES = {
  stdio: "stdio",
  http: "http",
  "streamable-http": "http",
  streamableHttp: "http",
  sse: "sse",
} as const;

export const serverTypeSchema = z.enum(["stdio", "http", "sse"]).describe("Normalised transport type.");

const typeField = z
  .enum(["stdio", "http", "streamable-http", "streamableHttp", "sse"])
  .transform((t): z.output<typeof serverTypeSchema> => SERVER_TYPE_ALIASES[t])
  .describe(
    'Transport. "streamable-http"/"streamableHttp" mean "http". Inferred when absent: command → stdio, url → http (sse when the URL path ends with /sse).',
  );

export const oauthSchema = z
  .strictObject({
    type: z
      .enum(["oauth", "client_credentials", "cross_app_access"])
      .describe(
        '"oauth": OAuth 2.1 authorization-code flow with PKCE, signed in once with `autonomous-mcp login`; "client_credentials": a machine client (OAuth client credentials grant: clientId with clientSecret or privateKey), no user and no login; "cross_app_access": enterprise-managed authorization (an ID token from your identity provider exchanged for an ID-JAG, then for an access token), no login (docs/oauth.md).',
      ),
    clientId: text()
      .optional()
      .describe(
        "A client id registered with the authorization server beforehand. Absent: the client registers itself (RFC 7591 dynamic registration).",
      ),
    clientSecret: text()
      .optional()
      .describe("Secret of a pre-registered confidential client. ${VAR} expanded; never logged."),
    privateKey: text()
      .optional()
      .describe(
        'client_credentials: a PEM private key authenticating the client with a signed JWT (private_key_jwt) instead of clientSecret. ${VAR} expanded (write "${MY_KEY_PEM}"); never logged.',
      ),
    algorithm: text()
      .optional()
      .describe('client_credentials with privateKey: the JWT signing algorithm. Default "ES256".'),
    idp: z
      .strictObject({
        tokenEndpoint: text().describe("The identity provider's token endpoint (RFC 8693 token exchange)."),
        clientId: text().describe("This client's id at the identity provider."),
        clientSecret: text()
          .optional()
          .describe("This client's secret at the identity provider. ${VAR} expanded; never logged."),
        idToken: text().describe(
          "The user's ID token from the identity provider. ${VAR} expanded; never logged.",
        ),
      })
      .optional()
      .describe("cross_app_access: the enterprise identity provider that issues the ID-JAG (SEP-990)."),
    issuer: text()
      .refine((v) => URL.canParse(v), { message: "must be a URL (the authorization server's issuer)" })
      .optional()
      .describe(
        "client_credentials, cross_app_access: the authorization server's issuer URL; the client's credentials are only sent to that server. Absent: to whichever the MCP server's metadata names.",
      ),
    scopes: z
      .array(text())
      .optional()
      .describe(
        "Scopes to ask for. Default: the scope the server's 401 challenge names, else its protected-resource metadata's scopes_supported.",
      ),
    clientMetadataUrl: text()
      .refine((v) => URL.canParse(v) && new URL(v).protocol === "https:" && new URL(v).pathname !== "/", {
        message: "must be an https URL with a path (a Client ID Metadata Document)",
      })
      .optional()
      .describe(
        "An https URL of a Client ID Metadata Document describing this client: used as the client id where the authorization server supports such documents (client_id_metadata_document_supported), instead of registering.",
      ),
    redirectPort: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe(
        "Port of the loopback redirect (http://127.0.0.1:PORT/callback) used by `login`. Default: a free port chosen at login time.",
      ),
  })
  .refine((a) => a.type === "oauth" || a.clientId !== undefined, {
    message:
      '"client_credentials" and "cross_app_access" need "clientId" (a client registered with the authorization server)',
    path: ["clientId"],
  })
  .refine((a) => a.type !== "cross_app_access" || (a.clientSecret !== undefined && a.idp !== undefined), {
    message: '"cross_app_access" needs "clientSecret" and "idp"',
    path: ["idp"],
  })
  .refine((a) => a.type === "cross_app_access" || a.idp === undefined, {
    message: '"idp" applies to "type": "cross_app_access" only',
    path: ["idp"],
  })
  .refine(
    (a) => a.type !== "client_credentials" || (a.clientSecret === undefined) !== (a.privateKey === undefined),
    {
      message: '"client_credentials" needs exactly one of "clientSecret" and "privateKey"',
      path: ["clientSecret"],
    },
  )
  .refine((a) => a.type !== "oauth" || a.issuer === undefined, {
    message: '"issuer" applies to "client_credentials" and "cross_app_access" only',
    path: ["issuer"],
  })
  .refine((a) => a.type === "client_credentials" || (a.privateKey ?? a.algorithm) === undefined, {
    message: '"privateKey" and "algorithm" apply to "type": "client_credentials" only',
    path: ["privateKey"],
  })
  .describe(
    'http: how to authenticate to the server. { "type": "oauth" } = OAuth 2.1; sign in once with `autonomous-mcp login SERVER`; tokens are stored encrypted outside the config. { "type": "client_credentials", ... } = a machine client, no login.',
  );

const isEntryObject = (payload: { value: unknown }): boolean =>
  typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value);
type EntryShape = { command?: unknown; url?: unknown; type?: unknown };
const has = (v: EntryShape, key: keyof EntryShape): boolean => v[key] !== undefined;

export const serverEntrySchema = z
  .strictObject({
    command: text().optional().describe("stdio: the program to run. ${VAR} expanded."),
    args: strings()
      .default(() => [...S.args])
      .describe("stdio: program arguments. ${VAR} expanded. Default []."),
    env: stringMap()
      .default(() => ({ ...S.env }))
      .describe("stdio: extra environment of the child. Values ${VAR} expanded. Default {}."),
    cwd: text().optional().describe("stdio: working directory of the child. ${VAR} expanded."),
    url: text()
      .optional()
      .describe("http/sse: endpoint URL; must be a valid http(s) URL after ${VAR} expansion."),
    headers: stringMap()
      .default(() => ({ ...S.headers }))
      .describe("http/sse: request headers. Values ${VAR} expanded. Default {}."),
    type: typeField.optional(),
    enabled: z
      .boolean()
      .default(S.enabled)
      .describe(`false = keep the entry but never start it. Default ${S.enabled}.`),
    disabled: z
      .boolean()
      .optional()
      .describe("true = never start it (the Cline/Cursor/Claude Code spelling of enabled: false)."),
    prefix: z
      .string()
      .optional()
      .describe("Namespace of this server's tools. Default: the entry's key; \"\" = unprefixed."),
    requiredEnv: z
      .array(text())
      .default(() => [...S.requiredEnv])
      .describe(
        "Environment variables that must be set and non-empty, else the server is skipped. Default [].",
      ),
    trustAnnotations: z
      .boolean()
      .default(S.trustAnnotations)
      .describe(`Believe the downstream's tool annotations. Default ${S.trustAnnotations}.`),
    readOnly: z
      .boolean()
      .default(S.readOnly)
      .describe(`Expose only read-only tools of this server. Default ${S.readOnly}.`),
    tools: toolsPolicySchema.prefault({}).describe("Which tools to expose and per-tool overrides."),
    profile: text()
      .optional()
      .describe("Name of a built-in safety profile (otherwise detected from the command)."),
    sessionMode: z
      .enum(["shared", "per-client"])
      .optional()
      .describe(
        'HTTP front: "shared" = one downstream connection for every client session; "per-client" = one connection (own process for stdio, own MCP session for http) per client session, so roots, log level, subscriptions, sampling and elicitation stay with that client. Default: what the built-in profile declares (memory, github, trello, postman: "shared"), else "per-client". The stdio front has one client: every server is shared there.',
      ),
    maxClientConnections: posInt()
      .default(S.maxClientConnections)
      .describe(
        `sessionMode "per-client": at most this many client sessions may have their own connection to this server at once; one more gets a SERVER_BUSY error. Default ${S.maxClientConnections}.`,
      ),
    auth: oauthSchema.optional(),
    ...resilienceOverridesSchema.shape,
  })
  .refine((v: EntryShape) => has(v, "command") || has(v, "url"), {
    message: 'needs "command" (stdio) or "url" (http/sse); neither is set',
    when: isEntryObject,
  })
  .refine((v: EntryShape) => !(has(v, "command") && has(v, "url")), {
    message: 'has both "command" and "url"; set exactly one',
    when: isEntryObject,
  })
  .refine((v: EntryShape) => !(v.type === "stdio" && has(v, "url") && !has(v, "command")), {
    message: 'type "stdio" needs "command", not "url"',
    path: ["type"],
    when: isEntryObject,
  })
  .refine(
    (v: EntryShape & { auth?: unknown }) =>
      v.auth === undefined || (has(v, "url") && v.type !== "sse" && v.type !== "stdio"),
    {
      message:
        '"auth" applies to http servers (a "url" with type "http"); stdio and sse servers cannot use it',
      path: ["auth"],
      when: isEntryObject,
    },
  )
  .refine(
    (v: EntryShape) => !((v.type === "http" || v.type === "sse") && has(v, "command") && !has(v, "url")),
    {
      message: 'a remote type ("http"/"sse") needs "url", not "command"',
      path: ["type"],
      when: isEntryObject,
    },
  );

export const serverMapSchema = () =>
  z.record(z.string().min(1, "server name must not be empty"), serverEntrySchema);

export type ServerEntry = z.output<typeof serverEntrySchema>;
export type ServerType = z.output<typeof serverTypeSchema>;
export type ToolOverride = z.output<typeof toolOverrideSchema>;
export type ToolsPolicy = z.output<typeof toolsPolicySchema>;
export type RetrySettings = z.output<typeof retrySettingsSchema>;
export type BreakerSettings = z.output<typeof breakerSettingsSchema>;
export type RestartSettings = z.output<typeof restartSettingsSchema>;
export type ResilienceSettings = z.output<typeof resilienceSettingsSchema>;
export type ResilienceOverrides = z.output<typeof resilienceOverridesSchema>;
