import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Aggregator } from "../aggregator.js";
import { bearerPresented, HOST_FORBIDDEN_MESSAGE, methodNotAllowed, unauthorized } from "../front/guard.js";
import { hostAllowed, originAllowed, type HostPolicy } from "../front/hostCheck.js";
import { jsonError } from "../front/httpErrors.js";
import { pathOf } from "../front/httpPath.js";
import type { Principal, PrincipalAuth } from "../front/principals.js";
import type { Logger } from "../logger.js";
import type { Activity } from "./activity.js";
import { dashboardPage, loginPage } from "./page.js";
import { dashboardState } from "./state.js";

/** Where the dashboard is served; every path under it is the dashboard's. */
export const DASHBOARD_PATH = "/dashboard";
/** The cookie holding a browser's token (HttpOnly, SameSite=Strict, Path=/dashboard). */
export const COOKIE_NAME = "amcp_dashboard";
/** Largest login form body read. */
const MAX_FORM_BYTES = 4_096;

export interface DashboardOptions extends HostPolicy {
  readonly aggregator: Aggregator;
  readonly activity: Activity;
  /** The HTTP front's principals: the dashboard accepts exactly the tokens MCP clients send. */
  readonly auth: PrincipalAuth;
  /** Error texts as every viewer may see them. */
  readonly scrub: (text: string) => string;
  readonly log: Logger;
}

/** Answers a request when it is the dashboard's (true); false leaves it to the caller. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The dashboard's request handler, for the HTTP front and the stdio mode's loopback port alike. It checks
 * Host and Origin with the HTTP front's own functions, and the caller's principal with the front's
 * PrincipalAuth: from the Authorization header, or from the cookie the login form sets (its value is the
 * same bearer token, checked the same way on every request). A front without tokens (loopback only) lets
 * every local caller in, as it does for MCP.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  return function dashboard(req, res) {
    const path = pathOf(req.url);
    if (path !== DASHBOARD_PATH && !path?.startsWith(`${DASHBOARD_PATH}/`)) return false;
    serve(options, path, req, res).catch((error: unknown) => {
      options.log.error({ err: String(error) }, "dashboard: request failed");
      if (!res.headersSent) jsonError(res, 500, -32603, "Internal error");
      else res.end();
    });
    return true;
  };
}

async function serve(
  o: DashboardOptions,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!hostAllowed(req.headers.host, o)) return jsonError(res, 403, -32000, HOST_FORBIDDEN_MESSAGE);
  if (!originAllowed(req.headers.origin, o) && !sameOrigin(req.headers.origin, req.headers.host))
    return jsonError(res, 403, -32000, "Forbidden: Origin not allowed");
  const sub = path.slice(DASHBOARD_PATH.length);
  if (sub === "/login") return login(o, req, res);
  if (sub === "/logout") {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    res.setHeader("Set-Cookie", cookie("", 0));
    return redirect(res, `${DASHBOARD_PATH}/login`);
  }
  const principal = identify(o.auth, req);
  if (!principal) {
    if (sub === "" || sub === "/") return html(res, 401, (nonce) => loginPage(nonce));
    return unauthorized(res, bearerPresented(req.headers.authorization));
  }
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET, HEAD");
  if (sub === "") return redirect(res, `${DASHBOARD_PATH}/`);
  const state = (): ReturnType<typeof dashboardState> => dashboardState(o.aggregator, o.activity, o.scrub);
  if (sub === "/")
    return html(res, 200, (nonce) => dashboardPage(state(), nonce, { logout: o.auth.secured }));
  if (sub === "/state.json") {
    res.writeHead(200, { ...COMMON_HEADERS, "content-type": "application/json" });
    return void res.end(req.method === "HEAD" ? undefined : JSON.stringify(state()));
  }
  return jsonError(res, 404, -32000, `Not found: the dashboard is at ${DASHBOARD_PATH}/`);
}

/** The bearer header's principal, else the cookie's (the same token, checked by the same function). */
export function identify(auth: PrincipalAuth, req: IncomingMessage): Principal | undefined {
  const byHeader = auth.identify(req);
  if (byHeader || !auth.secured) return byHeader;
  const token = cookieToken(req.headers.cookie);
  return token === undefined ? undefined : byToken(auth, token);
}

function byToken(auth: PrincipalAuth, token: string): Principal | undefined {
  // PrincipalAuth reads only the Authorization header of what it is given.
  return auth.identify({ headers: { authorization: `Bearer ${token}` } } as IncomingMessage);
}

async function login(o: DashboardOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!o.auth.secured) return redirect(res, `${DASHBOARD_PATH}/`);
  if (req.method === "GET" || req.method === "HEAD") return html(res, 200, (nonce) => loginPage(nonce));
  if (req.method !== "POST") return methodNotAllowed(res, "GET, HEAD, POST");
  const form = await readForm(req);
  const token = form?.get("token")?.trim();
  const principal = token ? byToken(o.auth, token) : undefined;
  if (!token || !principal) {
    o.log.warn({ remote: req.socket.remoteAddress }, "dashboard: login refused (wrong token)");
    return html(res, 401, (nonce) =>
      loginPage(nonce, form ? "That token was not accepted." : "The login form was too large or malformed."),
    );
  }
  o.log.info({ principal: principal.name }, "dashboard: logged in");
  res.setHeader("Set-Cookie", cookie(token, undefined, req));
  return redirect(res, `${DASHBOARD_PATH}/`);
}

/** application/x-www-form-urlencoded, at most MAX_FORM_BYTES; undefined when larger. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function cookieToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== COOKIE_NAME) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The token cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), this path only. */
function cookie(token: string, maxAge?: number, req?: IncomingMessage): string {
  const secure = req?.headers["x-forwarded-proto"] === "https" ? "; Secure" : "";
  const age = maxAge === undefined ? "" : `; Max-Age=${maxAge}`;
  return `${COOKIE_NAME}=${encodeURIComponent(token)}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict${age}${secure}`;
}

/**
 * A browser's own form posts carry an Origin even to the same origin: the one of the Host it sent the
 * request to (already checked) is not cross-site.
 */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // Not no-referrer: with it, a browser's own form post says `Origin: null`, which is refused.
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
} as const;

function html(res: ServerResponse, status: number, body: (nonce: string) => string): void {
  const nonce = randomBytes(16).toString("base64");
  res.writeHead(status, {
    ...COMMON_HEADERS,
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'self'; frame-ancestors 'none'`,
  });
  res.end(body(nonce));
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(303, { ...COMMON_HEADERS, location: to });
  res.end();
}
