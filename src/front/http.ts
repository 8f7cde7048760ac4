import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Logger } from "../logger.js";
import type { FrontBackend } from "./backend.js";
import { bearerCheck, RateLimiter, tooManyRequests, unauthorized, type RateLimit } from "./guard.js";
import { hostAllowed, originAllowed, type HostPolicy } from "./hostCheck.js";
import { BoundedEventStore } from "./eventStore.js";
import { jsonError } from "./httpErrors.js";
import { HttpSessionTransport } from "./httpFastPath.js";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, parsedTooDeep } from "../jsonrpc/depth.js";
import { errorAnswer, screenDepth, screenShape, type Refusal } from "../jsonrpc/screen.js";
import { FrontSession } from "./session.js";

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
  readonly maxSessions: number;
  /** Required as `Authorization: Bearer <token>` on every route but /healthz when set. */
  readonly authToken?: string | undefined;
  readonly rateLimit: RateLimit;
  /** Extra GET routes (health, metrics) answered before MCP routing. */
  readonly routes?: Readonly<
    Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>
  >;
}

interface LiveSession {
  readonly session: FrontSession;
  readonly transport: StreamableHTTPServerTransport;
  /** What the session's SDK Server is connected to: the SDK transport plus the tools/call fast path. */
  readonly front: HttpSessionTransport;
  lastSeen: number;
}

/** `retry:` of the SSE priming events (how soon a client reconnects to resume a stream). */
const RETRY_MS = 1_000;

/** Streamable HTTP front: one SDK Server + transport per MCP session, all sharing the aggregator. */
export class HttpFront {
  private readonly sessions = new Map<string, LiveSession>();
  private server: HttpServer | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  private readonly authorized: (req: IncomingMessage) => boolean;
  private readonly limiter: RateLimiter;
  /** The MCP path when a URL parser would return it unchanged as its own pathname. */
  private readonly plainPath: string | undefined;
  private lastHostAllowed: string | undefined;

  constructor(private readonly options: HttpFrontOptions) {
    this.authorized = options.authToken ? bearerCheck(options.authToken) : () => true;
    this.limiter = new RateLimiter(options.rateLimit);
    const path = options.path;
    this.plainPath =
      path !== undefined && new URL(path, "http://localhost").pathname === path ? path : undefined;
  }

  get sessionCount(): number {
    return this.sessions.size;
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

  /** The URL's pathname; the MCP path itself (the common case) without building a URL. */
  private pathname(url: string | undefined): string {
    if (url !== undefined && url === this.plainPath) return url;
    return new URL(url ?? "/", "http://localhost").pathname;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const o = this.options;
    if (!this.hostOk(req.headers.host))
      return jsonError(res, 403, -32000, "Forbidden: Host header not allowed");
    if (!originAllowed(req.headers.origin, o))
      return jsonError(res, 403, -32000, "Forbidden: Origin not allowed");
    const pathname = this.pathname(req.url);
    const route = o.routes?.[pathname];
    if (pathname !== "/healthz" && !this.authorized(req)) return unauthorized(res);
    if (route && req.method === "GET") return route(req, res);
    if (o.path === undefined)
      return jsonError(
        res,
        404,
        -32000,
        `Not found: this port serves ${Object.keys(o.routes ?? {}).join(", ")}`,
      );
    if (pathname !== o.path) return jsonError(res, 404, -32000, `Not found: MCP is served at ${o.path}`);

    const sessionId = header(req, "mcp-session-id");
    const wait = this.limiter.take(sessionId ?? `addr:${req.socket.remoteAddress ?? "?"}`);
    if (wait > 0) return tooManyRequests(res, wait);
    if (sessionId !== undefined) {
      const live = this.sessions.get(sessionId);
      if (!live)
        return jsonError(
          res,
          404,
          -32001,
          "Session not found (expired or deleted): initialize a new session",
        );
      live.lastSeen = Date.now();
      if (req.method === "POST") {
        const body = await this.readBody(req, res);
        if (body === BODY_REJECTED) return;
        // One tools/call: answered without the SDK transport (JSON, or SSE when needed).
        if (live.front.tryCall(req, res, body)) return;
        // A request the SDK would not recognise gets -32600 with its id (the SDK's answer has none).
        const malformed = isRecord(body) ? screenShape(body) : undefined;
        if (malformed) return this.refuse(res, malformed);
        return live.transport.handleRequest(req, res, body);
      }
      if (req.method === "GET" && (await live.front.tryResume(req, res))) return;
      return live.transport.handleRequest(req, res, undefined);
    }
    if (req.method !== "POST")
      return jsonError(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
    const body = await this.readBody(req, res);
    if (body === BODY_REJECTED) return;
    if (!isInitialize(body)) {
      return jsonError(
        res,
        400,
        -32000,
        "Bad Request: no session; send initialize first (this server speaks MCP with sessions)",
      );
    }
    if (this.sessions.size >= o.maxSessions) {
      this.expireOldest();
    }
    const store = new BoundedEventStore();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: store,
      retryInterval: RETRY_MS,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { session, transport, front, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
        this.limiter.forget(id);
      },
    });
    const session = new FrontSession(randomUUID(), o.backend, { pageSize: o.pageSize, log: o.log });
    const front = new HttpSessionTransport(transport, session, o.backend, { store, retryInterval: RETRY_MS });
    front.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await session.server.connect(front);
    await transport.handleRequest(req, res, body);
  }

  /**
   * The parsed JSON body, or BODY_REJECTED once an error has been answered. Read with 'data'/'end'
   * listeners (an async iterator per request cost ~8 µs of the front's CPU per call).
   */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const limit = this.options.maxBodyBytes;
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      jsonError(res, 413, -32000, `Payload too large: the limit is ${limit} bytes`);
      req.resume();
      return Promise.resolve(BODY_REJECTED);
    }
    return new Promise((resolve, reject) => {
      let first: Buffer | undefined;
      let chunks: Buffer[] | undefined;
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limit) {
          done();
          jsonError(res, 413, -32000, `Payload too large: the limit is ${limit} bytes`);
          req.destroy();
          resolve(BODY_REJECTED);
        } else if (first === undefined) first = chunk;
        else (chunks ??= [first]).push(chunk);
      };
      const onEnd = (): void => {
        done();
        const text =
          chunks !== undefined ? Buffer.concat(chunks).toString("utf8") : (first?.toString("utf8") ?? "");
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          jsonError(res, 400, -32700, "Parse error: the body is not valid JSON");
          resolve(BODY_REJECTED);
          return;
        }
        // Nothing walks a body (the SDK's zod, our handlers) before its depth is known to be bounded.
        const refused = this.screenBody(value, text.length);
        if (refused) {
          this.refuse(res, refused);
          resolve(BODY_REJECTED);
        } else resolve(value);
      };
      // As `for await` did: a request that fails or closes before its end rejects.
      const onError = (error: Error): void => {
        done();
        reject(error);
      };
      const onClose = (): void => {
        done();
        reject(new Error("the request closed before its body was read"));
      };
      const done = (): void => {
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("error", onError);
        req.off("close", onClose);
      };
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("error", onError);
      req.on("close", onClose);
    });
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
    for (const [id, live] of this.sessions) {
      if (live.lastSeen < cutoff) await this.closeSession(id, live);
    }
  }

  private expireOldest(): void {
    let oldest: [string, LiveSession] | undefined;
    for (const entry of this.sessions) if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
    if (oldest) void this.closeSession(oldest[0], oldest[1]);
  }

  private async closeSession(id: string, live: LiveSession): Promise<void> {
    this.sessions.delete(id);
    this.limiter.forget(id);
    this.options.log.debug({ session: id }, "http session closed (idle or over the cap)");
    await live.transport.close().catch(() => undefined);
    await live.session.close();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.sessions].map(([id, live]) => this.closeSession(id, live)));
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

const BODY_REJECTED = Symbol("body rejected");

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some(
    (m) => typeof m === "object" && m !== null && (m as { method?: unknown }).method === "initialize",
  );
}
