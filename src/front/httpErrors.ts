import type { ServerResponse } from "node:http";

/** A JSON-RPC error body with an HTTP status; never carries stacks or request data. */
export function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}
