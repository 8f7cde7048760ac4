import { createHash } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, errorMessage, isAggregatorError } from "../../errors.js";
import type { CallContext, Middleware } from "../types.js";
import { stableStringify } from "./cache.js";

/** The `_meta` key of a tools/call that must run at most once per key (within the configured window). */
export const IDEMPOTENCY_META_KEY = "io.autonomous-mcp/idempotencyKey";

/** Longest idempotency key accepted (characters). */
export const MAX_IDEMPOTENCY_KEY = 256;

/**
 * What the store holds for one key: the call that claimed it is running (and who runs it), or its
 * recorded outcome. `fp` fingerprints the call (server, tool, arguments): a key reused for another call
 * is refused.
 */
export type IdempotencyRecord =
  | { readonly s: "running"; readonly owner: string; readonly fp: string }
  | { readonly s: "done"; readonly fp: string; readonly result: CallToolResult }
  | { readonly s: "failed"; readonly fp: string; readonly error: string };

export type SettledRecord = Exclude<IdempotencyRecord, { s: "running" }>;

/**
 * Where the idempotency records live: this process (MemoryIdempotencyStore) or Redis in cluster mode
 * (src/cluster/idempotency.ts). Keys arrive hashed and scoped to the caller's principal.
 */
export interface IdempotencyStore {
  /** Claims `key` for a new call (resolves undefined) or answers the record already there. Atomic. */
  claim(key: string, fp: string, owner: string): Promise<IdempotencyRecord | undefined>;
  /** Records the outcome for the window, if `owner` still holds the key, and wakes the waiters. */
  settle(key: string, owner: string, record: SettledRecord): Promise<void>;
  /** Frees the key, if `owner` still holds it: the next call with it runs. Wakes the waiters. */
  release(key: string, owner: string, fp: string): Promise<void>;
  /**
   * Resolves once the key is no longer running: with the recorded outcome, or undefined when it was
   * released or expired (claim again). Rejects with the signal's reason when it aborts first.
   */
  wait(key: string, signal: AbortSignal): Promise<SettledRecord | undefined>;
}

export interface IdempotencySettings {
  /** How long a repeat waits for a running call's outcome, ms. */
  readonly waitMs: number;
  /** Names this replica in the owner of a running record. */
  readonly replicaId: string;
}

/**
 * Failures that prove the call never reached the server: the key is released, a repeat runs. Any other
 * failure (timeout, lost link, the server's own error, a cancellation mid-call) may have taken effect and
 * is recorded: a repeat within the window gets IDEMPOTENCY_CONFLICT naming the first failure.
 */
const NEVER_RAN = new Set([
  "INVALID_ARGUMENTS",
  "UNKNOWN_TOOL",
  "BREAKER_OPEN",
  "SERVER_BUSY",
  "RATE_LIMITED",
  "CLUSTER_STATE_UNAVAILABLE",
  "AUTH_REQUIRED",
]);

export function neverRan(error: unknown): boolean {
  return isAggregatorError(error) && NEVER_RAN.has(error.code);
}

const sha = (text: string): string => createHash("sha256").update(text).digest("base64url");

/** The stored key: the caller's principal (none on stdio and for anonymous HTTP) and its key, hashed. */
export function idempotencyKeyOf(ctx: CallContext, key: string): string {
  return sha(`${ctx.principal ?? ""}\u0000${key}`);
}

function fingerprintOf(ctx: CallContext): string {
  return sha(`${ctx.route.server}\u0000${ctx.route.originalName}\u0000${stableStringify(ctx.args)}`);
}

function conflict(message: string, server: string): AggregatorError {
  return new AggregatorError("IDEMPOTENCY_CONFLICT", message, { details: { server } });
}

/** The key a call carries, or undefined; a malformed one is INVALID_ARGUMENTS. */
function keyOf(ctx: CallContext): string | undefined {
  const raw = ctx.meta?.[IDEMPOTENCY_META_KEY];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_IDEMPOTENCY_KEY)
    throw new AggregatorError(
      "INVALID_ARGUMENTS",
      `_meta["${IDEMPOTENCY_META_KEY}"] must be a string of 1 to ${MAX_IDEMPOTENCY_KEY} characters`,
      { details: { server: ctx.route.server } },
    );
  return raw;
}

/**
 * At most once per idempotency key: the first call claims the key; a repeat while it runs waits (up to
 * waitMs) for its outcome; a repeat after it returns the recorded result. Calls without the key pass
 * straight through (one property read). docs/resilience.md#idempotency.
 */
export function createIdempotencyLayer(store: IdempotencyStore, settings: IdempotencySettings): Middleware {
  return (next) =>
    async function idempotencyLayer(ctx): Promise<CallToolResult> {
      const raw = keyOf(ctx);
      if (raw === undefined) return await next(ctx);
      const server = ctx.route.server;
      const key = idempotencyKeyOf(ctx, raw);
      const fp = fingerprintOf(ctx);
      const owner = `${settings.replicaId}/${ctx.requestId}`;
      for (;;) {
        let record: IdempotencyRecord | undefined = await store.claim(key, fp, owner);
        if (record === undefined) break;
        if (record.fp !== fp)
          throw conflict(
            "this idempotency key was already used for a different call (another tool or other arguments); use a new key",
            server,
          );
        if (record.s === "running") {
          const waited = AbortSignal.any([ctx.signal, AbortSignal.timeout(settings.waitMs)]);
          record = await store.wait(key, waited).catch((error: unknown) => {
            if (ctx.signal.aborted)
              throw new AggregatorError("CANCELLED", "the call was cancelled", {
                cause: error,
                details: { server },
              });
            throw conflict(
              `a call with this idempotency key is still running (waited ${settings.waitMs} ms); try again later`,
              server,
            );
          });
          if (record === undefined) continue; // released or expired: claim again
        }
        if (record.s === "done") return record.result;
        throw conflict(
          `the first call with this idempotency key failed (${record.error}); it may have taken effect, so it is not run again: use a new key to retry`,
          server,
        );
      }
      let result: CallToolResult;
      try {
        result = await next(ctx);
      } catch (error) {
        const recorded = neverRan(error)
          ? store.release(key, owner, fp)
          : store.settle(key, owner, { s: "failed", fp, error: errorMessage(error) });
        await recorded.catch((e: unknown) =>
          ctx.log.warn({ err: errorMessage(e) }, "idempotency: could not record a failed call"),
        );
        throw error;
      }
      await store
        .settle(key, owner, { s: "done", fp, result })
        .catch((e: unknown) =>
          ctx.log.warn({ err: errorMessage(e) }, "idempotency: could not record a result"),
        );
      return result;
    };
}
