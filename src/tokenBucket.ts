/**
 * The token bucket every rate limit of this process uses: the HTTP front's per-session/principal limit
 * (src/front/guard.ts) and the pipeline's per-client/per-server limits in embedded mode
 * (src/pipeline/middleware/rateLimit.ts; cluster mode runs the same arithmetic in one Lua script,
 * src/cluster/rateLimits.ts). `burst` tokens at most, refilled at `requestsPerSecond`.
 */
export interface BucketSettings {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, the caller's clock). */
  at: number;
}

/** A new, full bucket. */
export function fullBucket(s: BucketSettings, now: number): Bucket {
  return { tokens: s.burst, at: now };
}

/** Refills `bucket` up to `now` and answers its tokens. */
export function refill(bucket: Bucket, s: BucketSettings, now: number): number {
  bucket.tokens = Math.min(s.burst, bucket.tokens + ((now - bucket.at) / 1000) * s.requestsPerSecond);
  bucket.at = now;
  return bucket.tokens;
}
