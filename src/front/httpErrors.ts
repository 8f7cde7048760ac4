import type { ServerResponse } from "node:http";

/**
 * A JSON-RPC error body with an HTTP status; never carries stacks or request data. `id`: the request's,
 * when it answers one request whose id could be read (null otherwise).
 */
export function jsonError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id }));
}

/** The id of a body that is one JSON-RPC request with a string or number id; null otherwise. */
export function requestIdOf(body: unknown): string | number | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const { method, id } = body as { method?: unknown; id?: unknown };
  return typeof method === "string" && (typeof id === "string" || typeof id === "number") ? id : null;
}
