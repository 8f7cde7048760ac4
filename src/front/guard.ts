import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonError } from "./httpErrors.js";

/** Bearer-token check in constant time (hashing first makes the comparison independent of length). */
export function bearerCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (req) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match?.[1]) return false;
    const given = createHash("sha256").update(match[1]).digest();
    return timingSafeEqual(given, expected);
  };
}

export function unauthorized(res: ServerResponse): void {
  res.setHeader("WWW-Authenticate", 'Bearer realm="autonomous-mcp"');
  jsonError(res, 401, -32000, "Unauthorized: send Authorization: Bearer <token>");
}

export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

/** Token buckets keyed by session (or client address before a session exists). */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when the request may pass, else the seconds to wait before retrying. */
  take(key: string): number {
    const now = this.now();
    const rate = this.limit.requestsPerSecond;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.limit.burst, at: now };
      this.buckets.set(key, b);
      if (this.buckets.size > 10_000) this.prune(now);
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

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
  }
}

export function tooManyRequests(res: ServerResponse, retryAfterSeconds: number): void {
  res.setHeader("Retry-After", String(retryAfterSeconds));
  jsonError(res, 429, -32000, `Too many requests: retry after ${retryAfterSeconds} s`);
}
