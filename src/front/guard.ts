import { fullBucket, refill, type Bucket, type BucketSettings as RateLimit } from "../tokenBucket.js";
import type { ServerResponse } from "node:http";
import { LRUCache } from "lru-cache";
import { jsonError } from "./httpErrors.js";

/** The 401 answer's message: what to send, and how with mcp-remote (what Claude Desktop users run). */
export const UNAUTHORIZED_MESSAGE =
  'Unauthorized: this server needs a bearer token. Send the header "Authorization: Bearer <token>" ' +
  '(mcp-remote: add --header "Authorization: Bearer <token>"; other clients: set it in the server\'s headers)';

/** The 401 answer when a bearer token was sent but is none of this server's. */
export const WRONG_TOKEN_MESSAGE =
  "Unauthorized: the bearer token was not accepted: it is not the token this server was started with " +
  "(--auth-token, AUTONOMOUS_MCP_TOKEN, or one of http.principals); check for a typo or an old token";

/** The 403 answer to a Host name not accepted (DNS-rebinding protection), with how to accept it. */
export const HOST_FORBIDDEN_MESSAGE =
  "Forbidden: Host header not allowed; to accept this host name, add it with --allowed-host NAME or http.allowedHosts";

/** A bearer token was sent (right or wrong): the 401 then says it was not accepted, not that it is missing. */
export function bearerPresented(authorization: string | undefined): boolean {
  return authorization !== undefined && /^Bearer\s+\S/i.test(authorization.trim());
}

export function unauthorized(res: ServerResponse, presented = false): void {
  // RFC 6750: error="invalid_token" when a token was sent and refused.
  res.setHeader(
    "WWW-Authenticate",
    presented ? 'Bearer realm="autonomous-mcp", error="invalid_token"' : 'Bearer realm="autonomous-mcp"',
  );
  jsonError(res, 401, -32000, presented ? WRONG_TOKEN_MESSAGE : UNAUTHORIZED_MESSAGE);
}

/** 405 with the methods the route does serve. */
export function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  jsonError(res, 405, -32000, `Method not allowed: use ${allow}`);
}

export type { BucketSettings as RateLimit } from "../tokenBucket.js";

/** Most buckets kept; the least recently used one goes first (a reset bucket is a full one). */
export const MAX_BUCKETS = 10_000;

/**
 * Token buckets keyed by known sessions and principals only (the HTTP front never makes one for a
 * session id it does not know), in an LRU of at most `maxBuckets`.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    maxBuckets: number = MAX_BUCKETS,
  ) {
    this.buckets = new LRUCache({ max: Math.max(1, maxBuckets) });
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** 0 when the request may pass, else the seconds to wait before retrying. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = fullBucket(this.limit, now)));
    if (refill(b, this.limit, now) >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.limit.requestsPerSecond));
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}

export function tooManyRequests(res: ServerResponse, retryAfterSeconds: number): void {
  res.setHeader("Retry-After", String(retryAfterSeconds));
  jsonError(res, 429, -32000, `Too many requests: retry after ${retryAfterSeconds} s`);
}
