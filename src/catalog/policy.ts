import type { Tool, ToolAnnotations } from "@modelcontextprotocol/server";
import type { ToolHints, ToolPolicy } from "./routes.js";

export interface ToolOverrideView {
  readonly annotations?: Partial<ToolAnnotations> | undefined;
  readonly description?: string | undefined;
  readonly cacheTtlMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

/** The per-server settings the catalog reads (a view of the resolved config entry). */
export interface CatalogServerView {
  readonly name: string;
  readonly prefix: string;
  readonly trustAnnotations: boolean;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly tools: {
    readonly allow: readonly string[];
    readonly deny: readonly string[];
    readonly overrides: Readonly<Record<string, ToolOverrideView>>;
  };
  /** Built-in safety profile for the server's package, if any (annotations + cache TTLs per tool). */
  readonly profile?: Readonly<Record<string, ToolOverrideView>> | undefined;
}

/** `*` any run, `?` one character; anchored. Compiled once per pattern list. */
export function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".")}$`,
      ),
  );
  return (name) => res.some((re) => re.test(name));
}

/**
 * Annotations the aggregator advertises: config override > built-in profile > the server's own.
 * Unknown keys of the server's annotations are kept.
 */
export function effectiveAnnotations(tool: Tool, server: CatalogServerView): ToolAnnotations | undefined {
  const fromProfile = server.profile?.[tool.name]?.annotations;
  const fromConfig = server.tools.overrides[tool.name]?.annotations;
  if (!fromProfile && !fromConfig) return tool.annotations;
  return { ...(tool.annotations ?? {}), ...(fromProfile ?? {}), ...(fromConfig ?? {}) };
}

/**
 * The annotations retries, caching, write serialization and read-only filtering act on: the same, but
 * without the server's own claims when `trustAnnotations` is false.
 */
export function actedAnnotations(tool: Tool, server: CatalogServerView): ToolAnnotations | undefined {
  if (server.trustAnnotations) return effectiveAnnotations(tool, server);
  const fromProfile = server.profile?.[tool.name]?.annotations;
  const fromConfig = server.tools.overrides[tool.name]?.annotations;
  if (!fromProfile && !fromConfig) return undefined;
  return { ...(fromProfile ?? {}), ...(fromConfig ?? {}) };
}

export function hintsOf(annotations: ToolAnnotations | undefined): ToolHints {
  const readOnly = annotations?.readOnlyHint === true;
  return {
    readOnly,
    // MCP defaults: idempotent false, destructive true (both only meaningful for non-read-only tools).
    idempotent: readOnly || annotations?.idempotentHint === true,
    destructive: !readOnly && annotations?.destructiveHint !== false,
  };
}

export function policyFor(
  tool: Tool,
  annotations: ToolAnnotations | undefined,
  server: CatalogServerView,
): ToolPolicy {
  const hints = hintsOf(annotations);
  const override = server.tools.overrides[tool.name];
  const profile = server.profile?.[tool.name];
  const ttl = override?.cacheTtlMs ?? profile?.cacheTtlMs ?? 0;
  const timeoutMs = override?.timeoutMs ?? server.timeoutMs;
  return {
    hints,
    retrySafe: hints.readOnly || hints.idempotent,
    timeoutMs,
    totalTimeoutMs: Math.max(timeoutMs, server.totalTimeoutMs),
    cacheTtlMs: hints.readOnly ? ttl : 0,
  };
}
