import type { ServerResponse } from "node:http";
import { LRUCache } from "lru-cache";
import { jsonError } from "./httpErrors.js";

/** The 401 answer's message: what to send, and how with mcp-remote (what Claude Desktop users run). */
export const UNAUTHORIZED_MESSAGE =
  'Unauthorized: this server needs a bearer token. Send the header "Authorization: Bearer <token>" ' +
  '(mcp-remote: add --header "Authorization: Bearer <token>"; other clients: set it in the server\'s headers)';

export function unauthorized(res: ServerResponse): void {
  res.setHeader("WWW-Authenticate", 'Bearer realm="autonomous-mcp"');
  jsonError(res, 401, -32000, UNAUTHORIZED_MESSAGE);
}

/** 405 with the methods the route does serve. */
export function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  jsonError(res, 405, -32000, `Method not allowed: use ${allow}`);
}

export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

/** Most buckets kept; the least recently used one goes first (a reset bucket is a full one). */
export const MAX_BUCKETS = 10_000;

/**
 * Token buckets keyed by known sessions and principals only (the HTTP front never makes one for a
 * session id it does not know), in an LRU of at most `maxBuckets`.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

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
    const rate = this.limit.requestsPerSecond;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.limit.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}

export function tooManyRequests(res: ServerResponse, retryAfterSeconds: number): void {
  res.setHeader("Retry-After", String(retryAfterSeconds));
  jsonError(res, 429, -32000, `Too many requests: retry after ${retryAfterSeconds} s`);
}
