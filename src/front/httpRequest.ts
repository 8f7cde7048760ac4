import type { IncomingMessage } from "node:http";
import type { Principal } from "./principals.js";

/** The rate-limit bucket of a principal's requests that have no session of theirs. */
export function bucketOf(principal: Principal): string {
  return `principal:${principal.name}`;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The params of the initialize request in a body (a batch holds at most one). */
export function initializeParams(body: unknown): Record<string, unknown> {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  for (const m of messages)
    if (typeof m === "object" && m !== null && (m as { method?: unknown }).method === "initialize")
      return ((m as { params?: unknown }).params ?? {}) as Record<string, unknown>;
  return {};
}

export function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some(
    (m) => typeof m === "object" && m !== null && (m as { method?: unknown }).method === "initialize",
  );
}
