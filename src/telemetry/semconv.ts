/**
 * Names from the OpenTelemetry semantic conventions for MCP (open-telemetry/semantic-conventions-genai,
 * docs/gen-ai/mcp.md, status Development) and our own pipeline attributes. Strings, not the
 * semantic-conventions package: the MCP names live only in its deprecated incubating entry, and this
 * module is loaded even when tracing is off.
 */

export const ATTR = {
  methodName: "mcp.method.name",
  sessionId: "mcp.session.id",
  protocolVersion: "mcp.protocol.version",
  resourceUri: "mcp.resource.uri",
  toolName: "gen_ai.tool.name",
  promptName: "gen_ai.prompt.name",
  operationName: "gen_ai.operation.name",
  requestId: "jsonrpc.request.id",
  errorType: "error.type",
  statusCode: "rpc.response.status_code",
  transport: "network.transport",
  toolArguments: "gen_ai.tool.call.arguments",
  toolResult: "gen_ai.tool.call.result",
  /** Ours: the downstream server (config key) a CLIENT span goes to. */
  server: "autonomous_mcp.server",
  workflowName: "autonomous_mcp.workflow.name",
  workflowStep: "autonomous_mcp.workflow.step",
  workflowStatus: "autonomous_mcp.workflow.step.status",
} as const;

/** The attributes the pipeline sets on the span of the call it is working on. */
export const PIPELINE_ATTR = {
  /** hit | miss | coalesced */
  cache: "autonomous_mcp.cache",
  /** 1-based attempt number of a downstream hop (CLIENT span); attempts made (SERVER span). */
  retryAttempt: "autonomous_mcp.retry.attempt",
  /** closed | open | halfOpen, when the call met a breaker that was not closed */
  breakerState: "autonomous_mcp.breaker.state",
  /** Milliseconds the call waited for a concurrency slot (only when it waited). */
  queueWaitMs: "autonomous_mcp.queue.wait_ms",
} as const;

export type PipelineAttribute = (typeof PIPELINE_ATTR)[keyof typeof PIPELINE_ATTR];

/** network.transport: `pipe` for stdio, `tcp` for HTTP (the convention's rule). */
export type FrontTransport = "stdio" | "http";
export const NETWORK_TRANSPORT: Readonly<Record<FrontTransport, string>> = { stdio: "pipe", http: "tcp" };

/** error.type when a CallToolResult has isError. */
export const TOOL_ERROR = "tool_error";
/** error.type when the failure has no JSON-RPC code of its own (the convention's fallback value). */
export const OTHER_ERROR = "_OTHER";

/** Methods whose target is a resource URI (an attribute, never part of the span name: cardinality). */
const URI_METHODS: ReadonlySet<string> = new Set([
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
]);

/** The target of an MCP request: the tool or prompt name (`params.name`) or the resource URI (`params.uri`). */
export function targetOf(
  method: string,
  params: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  if (params === undefined) return undefined;
  const value = URI_METHODS.has(method) ? params["uri"] : params["name"];
  return typeof value === "string" &&
    (URI_METHODS.has(method) || method === "tools/call" || method === "prompts/get")
    ? value
    : undefined;
}

/** Longest target in a span name: a client may send any name (a long one is cut, ending in …). */
const MAX_NAME_TARGET = 128;

/** `{mcp.method.name} {target}` for tools and prompts; `{mcp.method.name}` alone otherwise. */
export function spanName(method: string, target: string | undefined): string {
  if (target === undefined || URI_METHODS.has(method)) return method;
  return target.length > MAX_NAME_TARGET
    ? `${method} ${target.slice(0, MAX_NAME_TARGET)}…`
    : `${method} ${target}`;
}

/** The semantic-convention attributes naming the target (gen_ai.tool.name + execute_tool, prompt, uri). */
export function targetAttributes(
  attributes: Record<string, string | number>,
  method: string,
  target: string | undefined,
): void {
  if (target === undefined) return;
  if (method === "tools/call") {
    attributes[ATTR.toolName] = target;
    attributes[ATTR.operationName] = "execute_tool";
  } else if (method === "prompts/get") attributes[ATTR.promptName] = target;
  else if (URI_METHODS.has(method)) attributes[ATTR.resourceUri] = target;
}

/** error.type of an isError result, else undefined (success). */
export function resultErrorType(result: unknown): string | undefined {
  return typeof result === "object" && result !== null && (result as { isError?: unknown }).isError === true
    ? TOOL_ERROR
    : undefined;
}

/**
 * error.type of a thrown failure: the JSON-RPC code as a string (McpError and anything with a numeric
 * `code`); our own errors' string code (DOWNSTREAM_TIMEOUT, BREAKER_OPEN…); else `_OTHER`.
 */
export function failureErrorType(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "number" && Number.isInteger(code)) return String(code);
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
  }
  return OTHER_ERROR;
}

/** The failure's message for the span status (bounded: a downstream may put a stack in it). */
export function failureMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : typeof error === "string" ? error : "";
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
