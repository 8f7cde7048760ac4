/**
 * Settings the resilience layers read. Retry and breaker settings are the config's own types (z.infer);
 * defaults live in config/defaults.ts, never here.
 */
export type { BreakerSettings, RetrySettings } from "../config/schema.js";

/** Per-server concurrency limits. */
export type LimiterSettings = {
  /** Calls allowed in flight at once. */
  readonly maxConcurrency: number;
  /** Calls allowed to wait for a slot; beyond it a call fails fast with SERVER_BUSY. */
  readonly maxQueue: number;
  /** Run non-read-only calls one at a time (stateful servers such as server-memory). */
  readonly serializeWrites: boolean;
};

/** Bounds of the shared result cache. */
export type CacheSettings = {
  /** Most entries kept. */
  readonly maxEntries: number;
  /** Most bytes kept (JSON length of the cached results). */
  readonly maxBytes: number;
};
