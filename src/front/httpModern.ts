import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createMcpHandler,
  isLegacyRequest,
  type AuthInfo,
  type McpHttpHandler,
  type McpServerFactory,
} from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import { createEventBus } from "./events.js";
import { ListenFollows, listenResourceUris } from "./listenFollows.js";
import { ANONYMOUS } from "./principals.js";
import { FrontSession } from "./session.js";
import { mountOnNode, type NodeMount } from "./nodeMount.js";

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
 * traffic never reaches it, HttpFront routes that to its sessions), mounted with `mountOnNode`. Each
 * request gets a FrontSession of its own (the same handlers as a 2025 session; per request, no session of
 * the backend's), built by the factory below; the SDK answers `server/discover`, validates the `_meta`
 * envelope and the `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers (-32020), answers an
 * unsupported revision -32022 with `data.supported`, stamps `resultType` and serves `subscriptions/listen`
 * from the backend's event bus. The front's own checks (Host, Origin, bearer principals, body size and
 * depth, rate limits) ran before; the principal reaches the handlers as the request's `authInfo`.
 */
export class ModernHttpLeg {
  private readonly handler: McpHttpHandler;
  private readonly node: NodeMount;
  private readonly follows: ListenFollows;
  private readonly backend: FrontBackend;
  /** Each modern key's requests in progress (open listen streams included) and when it was last used. */
  private readonly keys = new Map<string, { active: number; lastSeen: number }>();

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
    this.node = mountOnNode((request, context) => this.handler.fetch(request, context), onerror);
    this.follows = new ListenFollows(backend, log);
    this.backend = backend;
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
    const key = modernKey(principal);
    let use = this.keys.get(key);
    if (!use) this.keys.set(key, (use = { active: 0, lastSeen: 0 }));
    const used = use;
    used.active++;
    res.once("close", () => {
      used.active--;
      used.lastSeen = Date.now();
    });
    const listen = listenResourceUris(body);
    if (listen) res.once("close", this.follows.follow(key, listen.uris));
    // The principal as the SDK's pass-through authInfo (the bearer token itself is not handed on).
    (req as IncomingMessage & { auth?: AuthInfo }).auth = {
      token: "",
      clientId: principal,
      scopes: [],
      extra: { principal },
    };
    await this.node(req, res, body);
  }

  /**
   * Keys unused since `cutoff` (no request in progress, no listen stream open) are closed like an idle
   * session: their per-client downstream connections end.
   */
  expireIdle(cutoff: number): void {
    for (const [key, use] of [...this.keys]) {
      if (use.active > 0 || use.lastSeen >= cutoff) continue;
      this.keys.delete(key);
      this.backend.sessionClosed(key);
    }
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
