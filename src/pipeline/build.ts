import type { Logger } from "../logger.js";
import { compose } from "./compose.js";
import { createBreakerLayer, type BreakerRegistry } from "./middleware/breaker.js";
import { createCacheLayer, type ResultCache } from "./middleware/cache.js";
import { createDeadlineLayer } from "./middleware/deadline.js";
import { createRequestHopLayer, createToolHopLayer } from "./middleware/hop.js";
import { createLimitLayer, type ServerLimiter } from "./middleware/limit.js";
import { createObserveLayer, type CallStats } from "./middleware/observe.js";
import { createRetryLayer } from "./middleware/retry.js";
import { createIdempotencyLayer } from "./middleware/idempotency.js";
import { createRateLimitLayer } from "./middleware/rateLimit.js";
import type { PipelineState } from "./shared.js";
import { createValidateLayer, SchemaCompiler } from "./middleware/validate.js";
import type { RetrySettings } from "./settings.js";
import { Telemetry } from "../telemetry/telemetry.js";
import type { Handler } from "./types.js";

export interface PipelineParts {
  readonly log: Logger;
  readonly stats: CallStats;
  readonly cache: ResultCache;
  readonly breakers: BreakerRegistry;
  readonly limiterFor: (server: string) => ServerLimiter;
  readonly retryFor: (server: string) => RetrySettings;
  readonly forward: Handler;
  /** Aborted at shutdown, after the grace period: every call in flight is cancelled. */
  readonly shutdown?: AbortSignal;
  /** Deepest nesting accepted in a call's arguments (maxJsonDepth). */
  readonly maxJsonDepth?: number;
  /** Largest inputSchema compiled for validation (maxSchemaNodes). */
  readonly maxSchemaNodes?: number;
  /** Spans and MCP duration histograms of each downstream hop (src/telemetry); default: none. */
  readonly telemetry?: Telemetry;
  /** Idempotency records and rate-limit buckets (in memory, or in Redis in cluster mode); default: none. */
  readonly state?: PipelineState | undefined;
}

const OFF = new Telemetry();

/**
 * THE order of the call pipeline, outermost first. Every tools/call, workflow step and meta-tool call
 * to a downstream goes through it. Why this order: docs/adr/0002-pipeline-order.md.
 *
 *  observe  – counts everything once, cache hits and fast failures included
 *  validate – a bad call costs no I/O
 *  idempotency – a repeat of a keyed call gets the first one's outcome (only calls carrying a key)
 *  cache    – a hit skips budgets, retries and slots
 *  rateLimit – per client and per server (only when a limit is configured)
 *  deadline – one signal: the caller's cancel + the total budget
 *  retry    – outside the breaker, so every attempt is seen by it and an open breaker ends the loop
 *  breaker  – fails fast while a server is known bad
 *  limit    – per-server concurrency; writes one at a time where configured
 *  hop      – one CLIENT span + duration observation per downstream attempt, traceparent in _meta
 *  forward  – the downstream call
 */
export function buildPipeline(parts: PipelineParts): Handler {
  return compose(
    [
      createObserveLayer(parts.stats, parts.log),
      createValidateLayer(new SchemaCompiler(parts.maxSchemaNodes), { maxJsonDepth: parts.maxJsonDepth }),
      parts.state && createIdempotencyLayer(parts.state.idempotency, parts.state.idempotencySettings),
      createCacheLayer(parts.cache),
      parts.state?.rateLimits && createRateLimitLayer(parts.state.rateLimits),
      createDeadlineLayer(Date.now, parts.shutdown),
      createRetryLayer(parts.retryFor, (server) => parts.breakers.stateOf(server) === "open"),
      createBreakerLayer(parts.breakers),
      createLimitLayer(parts.limiterFor),
      createToolHopLayer(parts.telemetry ?? OFF),
    ],
    parts.forward,
  );
}

/**
 * The layers a call the aggregator answers itself (meta-tools, workflows) goes through: the same observe
 * and validate as a downstream call (counted under `server`, checked against its own inputSchema), and
 * none of the per-downstream layers (cache, deadline, retry, breaker, limit). docs/adr/0017.
 */
export function buildLocalPipeline(
  parts: Pick<PipelineParts, "log" | "stats" | "maxJsonDepth" | "maxSchemaNodes">,
  dispatch: Handler,
): Handler {
  return compose(
    [
      createObserveLayer(parts.stats, parts.log),
      createValidateLayer(new SchemaCompiler(parts.maxSchemaNodes), { maxJsonDepth: parts.maxJsonDepth }),
    ],
    dispatch,
  );
}

/**
 * The layers a routed request to a downstream (resources/read, prompts/get, completion/complete) goes
 * through: deadline, breaker and limit, over the SAME breaker registry and per-server limiters as tools/call.
 * No observe/validate/cache/retry: the result is passed on verbatim. docs/adr/0017.
 */
export function buildRequestPipeline(
  parts: Pick<PipelineParts, "breakers" | "limiterFor" | "shutdown" | "telemetry">,
  send: Handler,
): Handler {
  return compose(
    [
      createDeadlineLayer(Date.now, parts.shutdown),
      createBreakerLayer(parts.breakers),
      createLimitLayer(parts.limiterFor),
      createRequestHopLayer(parts.telemetry ?? OFF),
    ],
    send,
  );
}
