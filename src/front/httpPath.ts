import type { IncomingMessage, ServerResponse } from "node:http";
import { methodNotAllowed } from "./guard.js";

/** GET and HEAD reach a route (/healthz, /readyz, /metrics); anything else is 405. */
export function serveRoute(
  route: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  req: IncomingMessage,
  res: ServerResponse,
): void | Promise<void> {
  if (req.method === "GET" || req.method === "HEAD") return route(req, res);
  return methodNotAllowed(res, "GET, HEAD");
}

/**
 * The path of a request target, without query or fragment; undefined for a target that names no path
 * we serve ("*", authority-form, an absolute URL that does not parse). Never throws.
 */
export function pathOf(url: string | undefined): string | undefined {
  if (url === undefined || url === "") return undefined;
  if (url.startsWith("/")) {
    const end = url.search(/[?#]/);
    return end === -1 ? url : url.slice(0, end);
  }
  // absolute-form ("GET http://host/mcp HTTP/1.1"), as a proxy may send it
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}
