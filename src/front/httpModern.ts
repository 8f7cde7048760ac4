import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createMcpHandler,
  isLegacyRequest,
  type AuthInfo,
  type McpHttpHandler,
  type McpServerFactory,
} from "@modelcontextprotocol/server";
import { toNodeHandler, type NodeMcpRequestHandler } from "@modelcontextprotocol/node";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import { createEventBus } from "./events.js";
import { ListenFollows, listenResourceUris } from "./listenFollows.js";
import { ANONYMOUS } from "./principals.js";
import { FrontSession } from "./session.js";

export interface ModernHttpOptions {
  readonly backend: FrontBackend;
  readonly log: Logger;
  readonly pageSize: number;
  readonly maxBodyBytes: number;
}

/** The headers the SDK's classification reads besides the body (SEP-2243's standard request headers). */
const CLASSIFIED_HEADERS = ["mcp-protocol-version", "mcp-method", "mcp-name"] as const;

/**
 * The key a 2026-07-28 client's calls are made under (CallOrigin.sessionId): it has no session, so its
 * principal stands for it — the per-client connections of sessionMode "per-client" servers, the
 * limiter's fairness and resource follows of one principal's modern clients are shared.
 */
export function modernKey(principal: string): string {
  return `modern:${principal}`;
}

/**
 * The 2026-07-28 leg of the HTTP front: the SDK's `createMcpHandler` (`legacy: "reject"`: 2025-era
 * traffic never reaches it, HttpFront routes that to its sessions), mounted with `toNodeHandler`. Each
 * request gets a FrontSession of its own (the same handlers as a 2025 session; per request, no session of
 * the backend's), built by the factory below; the SDK answers `server/discover`, validates the `_meta`
 * envelope and the `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers (-32020), answers an
 * unsupported revision -32022 with `data.supported`, stamps `resultType` and serves `subscriptions/listen`
 * from the backend's event bus. The front's own checks (Host, Origin, bearer principals, body size and
 * depth, rate limits) ran before; the principal reaches the handlers as the request's `authInfo`.
 */
export class ModernHttpLeg {
  private readonly handler: McpHttpHandler;
  private readonly node: NodeMcpRequestHandler;
  private readonly follows: ListenFollows;

  constructor(options: ModernHttpOptions) {
    const { backend, log, pageSize } = options;
    const factory: McpServerFactory = ({ authInfo }) => {
      const principal = principalOf(authInfo);
      return new FrontSession(modernKey(principal), backend, {
        pageSize,
        log,
        principal,
        transport: "http",
        era: "modern",
        session: false,
      }).server;
    };
    const onerror = (error: Error): void =>
      log.debug({ err: error.message }, "http front: a 2026-07-28 request was refused or failed");
    this.handler = createMcpHandler(factory, {
      legacy: "reject",
      bus: backend.events ?? createEventBus(log),
      maxRequestBodySize: options.maxBodyBytes,
      onerror,
    });
    this.node = toNodeHandler(this.handler, { onerror, maxRequestBodySize: options.maxBodyBytes });
    this.follows = new ListenFollows(backend, log);
  }

  /**
   * Whether a POST (its body already read and screened) is 2026-07-28 traffic, by the SDK's own
   * classification (`isLegacyRequest`: the body's `_meta` envelope claim, cross-checked with the headers).
   */
  async isModern(req: IncomingMessage, body: unknown): Promise<boolean> {
    const headers = new Headers();
    for (const name of CLASSIFIED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === "string") headers.set(name, value);
    }
    return !(await isLegacyRequest(new Request("http://localhost/", { method: "POST", headers }), body));
  }

  /** Serves one 2026-07-28 request of `principal` (after the front's checks). */
  async serve(req: IncomingMessage, res: ServerResponse, body: unknown, principal: string): Promise<void> {
    const listen = listenResourceUris(body);
    if (listen) res.once("close", this.follows.follow(modernKey(principal), listen.uris));
    // The principal as the SDK's pass-through authInfo (the bearer token itself is not handed on).
    (req as IncomingMessage & { auth?: AuthInfo }).auth = {
      token: "",
      clientId: principal,
      scopes: [],
      extra: { principal },
    };
    await this.node(req, res, body);
  }

  /** Ends the open listen streams (each gets its graceful-close result) and in-flight modern requests. */
  close(): Promise<void> {
    return this.handler.close();
  }
}

function principalOf(authInfo: AuthInfo | undefined): string {
  const principal = authInfo?.extra?.["principal"];
  return typeof principal === "string" ? principal : (authInfo?.clientId ?? ANONYMOUS);
}
