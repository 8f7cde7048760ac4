import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import {
  bearerPresented,
  HOST_FORBIDDEN_MESSAGE,
  methodNotAllowed,
  RateLimiter,
  tooManyRequests,
  unauthorized,
  type RateLimit,
} from "./guard.js";
import { hostAllowed, originAllowed, type HostPolicy } from "./hostCheck.js";
import { BoundedEventStore } from "./eventStore.js";
import { jsonError, requestIdOf } from "./httpErrors.js";
import { ModernHttpLeg } from "./httpModern.js";
import { BODY_REJECTED, readJsonBody } from "./httpBody.js";
import { HttpSessionTransport } from "./httpSession.js";
import { pathOf, serveRoute } from "./httpPath.js";
import { DEFAULT_PRINCIPAL, PrincipalAuth, type Principal } from "./principals.js";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, parsedTooDeep } from "../jsonrpc/depth.js";
import { errorAnswer, screenDepth, screenMessages, type Refusal } from "../jsonrpc/screen.js";
import { FrontSession } from "./session.js";
import { SessionTable } from "./sessionTable.js";
import { bucketOf, header, initializeParams, isInitialize } from "./httpRequest.js";
import type { SealedSession, SessionSharing } from "./sharing.js";
import { SessionRestorer } from "./httpRestore.js";

export interface HttpFrontOptions extends HostPolicy {
  readonly backend: FrontBackend;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** The MCP endpoint; undefined serves only `routes` (the separate metrics port). */
  readonly path: string | undefined;
  readonly pageSize: number;
  readonly maxBodyBytes: number;
  /** Deepest nesting accepted in a request body (maxJsonDepth). */
  readonly maxJsonDepth?: number;
  readonly sessionIdleMs: number;
  /** Hard ceiling on open sessions over all principals (past it new sessions are refused). */
  readonly maxSessions: number;
  /** How long a call whose client dropped its resumable stream waits for a resume before it is cancelled. */
  readonly resumeGraceMs: number;
  /** Who may call, by bearer token; without it, `authToken` (or nothing: the "anonymous" principal). */
  readonly auth?: PrincipalAuth | undefined;
  /** One token, the principal "default" (when `auth` is not given). */
  readonly authToken?: string | undefined;
  /** Session opened / closed / refused, per principal (metrics). */
  readonly onSessionEvent?: ((principal: string, event: SessionEvent) => void) | undefined;
  readonly rateLimit: RateLimit;
  /** Cluster mode: sessions any replica can serve (sealed ids, shared deletes; src/cluster/sessions.ts). */
  readonly sharing?: SessionSharing | undefined;
  /**
   * `/dashboard` (src/dashboard/): answers first, with its own Host, Origin and token checks (browsers
   * have only the login cookie); true when it took the request.
   */
  readonly dashboard?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Extra GET routes (health, metrics) answered before MCP routing. */
  readonly routes?: Readonly<
    Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>
  >;
}

export type SessionEvent = "opened" | "closed" | "refused";

interface LiveSession {
  readonly session: FrontSession;
  /** What the session's SDK Server is connected to: the SDK transport, watched for abandoned requests. */
  readonly transport: HttpSessionTransport;
  /** The principal that opened it; requests of any other get 404 as for an unknown id. */
  readonly principal: string;
  lastSeen: number;
  /** Requests of this session being answered (an open GET stream included): not idle while > 0. */
  active: number;
}

const SESSION_NOT_FOUND = "Session not found (expired or deleted): initialize a new session";
const MCP_METHODS = "GET, POST, DELETE";

/** `retry:` of the SSE priming events (how soon a client reconnects to resume a stream). */
const RETRY_MS = 1_000;

/** Streamable HTTP front: one SDK Server + transport per MCP session, all sharing the aggregator. */
export class HttpFront {
  private readonly sessions: SessionTable<LiveSession>;
  private server: HttpServer | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  private readonly auth: PrincipalAuth;
  private readonly limiter: RateLimiter;
  /** 2026-07-28 requests (none on a port without the MCP endpoint). */
  private readonly modern: ModernHttpLeg | undefined;
  private lastHostAllowed: string | undefined;

  constructor(private readonly options: HttpFrontOptions) {
    this.auth =
      options.auth ??
      new PrincipalAuth(
        options.authToken
          ? [{ name: DEFAULT_PRINCIPAL, token: options.authToken, maxSessions: options.maxSessions }]
          : [],
        options.maxSessions,
      );
    this.sessions = new SessionTable(options.maxSessions);
    this.limiter = new RateLimiter(options.rateLimit);
    options.sharing?.serve(
      (id) => this.sessions.get(id)?.transport,
      (id) => {
        const live = this.sessions.get(id);
        if (live) void this.closeSession(id, live, "deleted by the client on another replica");
      },
    );
    if (options.path !== undefined) this.modern = new ModernHttpLeg(options);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Open sessions per principal (every principal listed, 0 included). */
  sessionsByPrincipal(): Record<string, number> {
    return { ...Object.fromEntries(this.auth.names.map((n) => [n, 0])), ...this.sessions.countByPrincipal() };
  }

  /** Rate-limit buckets held (one per known session and principal at most). */
  get rateLimitBuckets(): number {
    return this.limiter.size;
  }

  async listen(): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.options.log.error({ err: String(error) }, "http front: request failed");
        if (!res.headersSent) jsonError(res, 500, -32603, "Internal error");
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const interval = Math.max(1_000, Math.min(60_000, Math.floor(this.options.sessionIdleMs / 4)));
    this.sweeper = setInterval(() => void this.expireIdle(), interval);
    this.sweeper.unref();
    return server.address() as AddressInfo;
  }

  /** hostAllowed, remembering the last Host header accepted (a client sends the same one every time). */
  private hostOk(host: string | undefined): boolean {
    if (host !== undefined && host === this.lastHostAllowed) return true;
    if (!hostAllowed(host, this.options)) return false;
    this.lastHostAllowed = host;
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const o = this.options;
    if (o.dashboard?.(req, res)) return;
    const pathname = req.url === o.path ? o.path : pathOf(req.url);
    if (pathname === undefined) return jsonError(res, 404, -32000, "Not found");
    const route =
      o.routes !== undefined && Object.hasOwn(o.routes, pathname) ? o.routes[pathname] : undefined;
    // Liveness answers whatever the Host (probes by pod IP) and without a token.
    if (route && pathname === "/healthz") return serveRoute(route, req, res);
    if (!this.hostOk(req.headers.host)) return jsonError(res, 403, -32000, HOST_FORBIDDEN_MESSAGE);
    if (!originAllowed(req.headers.origin, o))
      return jsonError(res, 403, -32000, "Forbidden: Origin not allowed");
    const principal = this.auth.identify(req);
    if (!principal) return unauthorized(res, bearerPresented(req.headers.authorization));
    if (route) return serveRoute(route, req, res);
    if (o.path === undefined)
      return jsonError(
        res,
        404,
        -32000,
        `Not found: this port serves ${Object.keys(o.routes ?? {}).join(", ")}`,
      );
    if (pathname !== o.path) return jsonError(res, 404, -32000, `Not found: MCP is served at ${o.path}`);
    const method = req.method;
    if (method !== "POST" && method !== "GET" && method !== "DELETE")
      return methodNotAllowed(res, MCP_METHODS);

    const sessionId = header(req, "mcp-session-id");
    if (sessionId !== undefined) {
      // Another principal's session is answered exactly as an unknown one; neither gets a bucket of its own.
      const live =
        this.sessions.lookup(sessionId, principal.name) ??
        (o.sharing ? await this.restorer.restore(o.sharing, sessionId, principal, res) : undefined);
      if (res.headersSent) return; // restore answered (shared state unreachable, sessions full)
      const wait = this.limiter.take(live ? sessionId : bucketOf(principal));
      if (wait > 0) return tooManyRequests(res, wait);
      if (!live) return jsonError(res, 404, -32001, SESSION_NOT_FOUND);
      live.lastSeen = Date.now();
      live.active++;
      res.once("close", () => live.active--);
      if (req.method === "POST") {
        const body = await readJsonBody(
          req,
          res,
          this.options.maxBodyBytes,
          (v, n) => this.screenBody(v, n),
          (r, x) => this.refuse(r, x),
        );
        if (body === BODY_REJECTED) return;
        // A request the SDK would not recognise gets -32600 with its id (the SDK's answer has none);
        // in a batch, each member is screened (src/jsonrpc/screen.ts, screenMessages).
        const malformed = screenMessages(body);
        if (malformed) return this.refuse(res, malformed);
        return live.transport.handle(req, res, body);
      }
      return live.transport.handle(req, res, undefined);
    }
    const wait = this.limiter.take(bucketOf(principal));
    if (wait > 0) return tooManyRequests(res, wait);
    if (method !== "POST")
      return jsonError(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
    const body = await readJsonBody(
      req,
      res,
      this.options.maxBodyBytes,
      (v, n) => this.screenBody(v, n),
      (r, x) => this.refuse(r, x),
    );
    if (body === BODY_REJECTED) return;
    // Sessionless: a 2026-07-28 request (the SDK's classification) goes to the modern leg; a request
    // with a session id above is always 2025-era session traffic and is never classified.
    if (this.modern && (await this.modern.isModern(req, body))) {
      const malformed = screenMessages(body);
      if (malformed) return this.refuse(res, malformed);
      return this.modern.serve(req, res, body, principal.name);
    }
    if (!isInitialize(body)) {
      return jsonError(
        res,
        400,
        -32000,
        "Bad Request: no session; send initialize first, or send 2026-07-28 requests with their _meta envelope (this server speaks both)",
        requestIdOf(body),
      );
    }
    const admission = this.sessions.admit(principal);
    if (!admission.ok) {
      o.log.warn({ principal: principal.name, reason: admission.reason }, "http session refused");
      o.onSessionEvent?.(principal.name, "refused");
      if (admission.status === 503) res.setHeader("Retry-After", "60");
      return jsonError(res, admission.status, -32000, admission.message);
    }
    try {
      const victim = admission.evict;
      if (victim)
        void this.closeSession(victim[0], victim[1], "evicted: its principal opened one more than its cap");
      await this.open(principal, req, res, body);
    } finally {
      admission.release();
    }
  }

  /** Cluster mode: rebuilds sessions other replicas opened (src/front/httpRestore.ts). */
  private readonly restorer = new SessionRestorer<LiveSession>(
    () => this.options,
    () => this.sessions,
    (principal, restoring) => this.open(principal, undefined, undefined, undefined, restoring),
  );

  /** A new session of `principal` from its initialize request (or, restoring, from its sealed id). */
  private async open(
    principal: Principal,
    req: IncomingMessage | undefined,
    res: ServerResponse | undefined,
    body: unknown,
    restoring?: { readonly id: string; readonly sealed: SealedSession },
  ): Promise<void> {
    const o = this.options;
    const owner = principal.name;
    const store = new BoundedEventStore();
    const sharing = o.sharing;
    const sdk = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () =>
        restoring?.id ??
        (sharing ? sharing.seal({ initialize: initializeParams(body), principal: owner }) : randomUUID()),
      eventStore: store,
      retryInterval: RETRY_MS,
      // A restored session is served once its initialize has been replayed in full (below).
      onsessioninitialized: (id) => (restoring ? undefined : opened(id)),
      onsessionclosed: async (id) => {
        this.forget(id, "deleted by the client");
        await sharing?.deleted(id);
      },
    });
    const session = new FrontSession(randomUUID(), o.backend, {
      pageSize: o.pageSize,
      log: o.log,
      principal: owner,
      transport: "http",
    });
    const transport = new HttpSessionTransport(sdk, o.resumeGraceMs, sharing?.peers);
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId, "transport closed");
    };
    const opened = (id: string): void => {
      this.sessions.set(id, { session, transport, principal: owner, lastSeen: Date.now(), active: 0 });
      const restored = restoring !== undefined;
      o.log.info(
        { session: id, principal: owner, sessions: this.sessions.size, restored },
        restored ? "http session restored" : "http session opened",
      );
      o.onSessionEvent?.(owner, "opened");
    };
    await session.server.connect(transport);
    if (restoring) {
      await transport.replay(restoring.id, restoring.sealed.initialize);
      // Its own connections to per-client servers, as its tools/list made them on the first replica.
      await o.backend.prepareSession?.(session.id);
      return opened(restoring.id);
    }
    if (!req || !res) return;
    await transport.handle(req, res, body);
    if (sharing) await transport.initialized();
  }

  /** Drops a session from the table (once) with its audit line; false when it was gone already. */
  private forget(id: string, reason: string): boolean {
    const live = this.sessions.get(id);
    if (!live || !this.sessions.delete(id)) return false;
    this.limiter.forget(id);
    this.options.log.info({ session: id, principal: live.principal, reason }, "http session closed");
    this.options.onSessionEvent?.(live.principal, "closed");
    return true;
  }

  private screenBody(value: unknown, length: number): Refusal | undefined {
    const limit = this.options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    if (!Array.isArray(value))
      return typeof value === "object" ? screenDepth(value, length, limit) : undefined;
    if (!parsedTooDeep(value, length, limit)) return undefined;
    const why = `Invalid Request: ${depthMessage(limit)}`;
    return { reply: errorAnswer(null, -32600, why), reason: why };
  }

  /** Answers a refused body: an isError tools/call result (200) or a JSON-RPC error with its id (400). */
  private refuse(res: ServerResponse, refused: Refusal): void {
    this.options.log.warn({ reason: refused.reason }, "http front: refused a request");
    const reply = refused.reply ?? errorAnswer(null, -32600, `Invalid Request: ${refused.reason}`);
    res.writeHead(refused.isResult ? 200 : 400, { "content-type": "application/json" });
    res.end(JSON.stringify(reply));
  }

  private async expireIdle(): Promise<void> {
    const cutoff = Date.now() - this.options.sessionIdleMs;
    this.modern?.expireIdle(cutoff);
    for (const [id, live] of [...this.sessions.entries()]) {
      if (live.lastSeen < cutoff) await this.closeSession(id, live, "idle");
    }
  }

  private async closeSession(id: string, live: LiveSession, reason: string): Promise<void> {
    if (this.sessions.get(id) !== live || !this.forget(id, reason)) return;
    await live.transport.close().catch(() => undefined);
    await live.session.close();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.modern?.close();
    await Promise.all(
      [...this.sessions.entries()].map(([id, live]) => this.closeSession(id, live, "shutdown")),
    );
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
