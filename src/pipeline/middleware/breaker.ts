import CircuitBreaker from "opossum";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError, errorMessage, isAggregatorError } from "../../errors.js";
import { countsForBreaker } from "../failure.js";
import type { BreakerSettings } from "../settings.js";
import { PIPELINE_ATTR } from "../../telemetry/semconv.js";
import type { CallContext, Handler, Middleware } from "../types.js";
import type { BreakerShare, SharedBreakerChange } from "./breakerShare.js";
export type { BreakerShare, SharedBreakerChange } from "./breakerShare.js";

export type BreakerState = "closed" | "open" | "halfOpen";

export interface BreakerStateChange {
  readonly server: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Epoch ms when an open breaker lets a probe through; undefined unless `to` is "open" and not forced. */
  readonly retryAt: number | undefined;
  /** The failure (or forceOpen reason) behind an opening. */
  readonly lastError: string | undefined;
  /** True when opened by forceOpen: stays open until reset(). */
  readonly forced: boolean;
}

export interface BreakerRegistryOptions {
  readonly onStateChange?:
    ((server: string, state: BreakerState, change: BreakerStateChange) => void) | undefined;
  /** Clock for retryAt and messages. Default Date.now (opossum's own timers use setTimeout). */
  readonly now?: (() => number) | undefined;
  /** Cluster mode: breakers shared with the other replicas. */
  readonly share?: BreakerShare | undefined;
}

type Breaker = CircuitBreaker<[Handler, CallContext], CallToolResult>;

interface Entry {
  readonly breaker: Breaker;
  readonly resetTimeoutMs: number;
  state: BreakerState;
  openedAt: number;
  failuresAtOpen: number;
  lastError: string | undefined;
  /** The last lost-link incident counted (details.incident of connection errors). */
  lastIncident: string | undefined;
  /** Calls through get() since the latency lists were last emptied (see trimLatencies). */
  sinceTrim: number;
}

/** How many calls a breaker takes between two emptyings of opossum's latency lists. */
export const LATENCY_TRIM_EVERY = 1024;

/**
 * opossum 9 appends every call's latency to its current bucket (`status.window[i].latencyTimes`) even
 * with `rollingPercentilesEnabled: false`, and keeps the lists for the whole rolling window: at 20,000
 * calls/s and a 10 s window that is 200,000 numbers per server, re-copied as the arrays grow. Nothing
 * reads them with percentiles off, so they are emptied every LATENCY_TRIM_EVERY calls; the counts the
 * breaker decides on (successes, failures…) are separate fields and are left alone.
 */
function trimLatencies(breaker: Breaker): void {
  for (const bucket of breaker.status.window)
    if (bucket.latencyTimes.length > 0) bucket.latencyTimes.length = 0;
}

/** True for a failure of a lost link already counted; records the incident otherwise. */
function repeatIncident(entry: Entry, err: unknown): boolean {
  const incident = isAggregatorError(err) ? err.details["incident"] : undefined;
  if (typeof incident !== "string") return false;
  if (entry.lastIncident === incident) return true;
  entry.lastIncident = incident;
  return false;
}

function run(next: Handler, ctx: CallContext): Promise<CallToolResult> {
  return next(ctx);
}

const noop = (): void => undefined;

/**
 * One opossum breaker per downstream server, created on first use. Client faults, cancellations and
 * isError results do not count as failures. Half-open lets exactly one probe through (opossum's
 * pendingClose flag); its success closes the breaker, its failure re-opens it for another resetTimeout.
 */
export class BreakerRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly forced = new Map<string, string>();
  /** Cluster mode: the servers whose breaker is open somewhere in the cluster (this replica included). */
  private readonly shared = new Map<string, SharedBreakerChange>();
  /** Set while applying another replica's change, so that it is not published back. */
  private applying = false;
  private readonly now: () => number;

  constructor(
    private readonly settingsFor: (server: string) => BreakerSettings,
    private readonly options: BreakerRegistryOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
  }

  get(server: string): Breaker {
    const entry = this.entries.get(server) ?? this.create(server);
    if (++entry.sinceTrim >= LATENCY_TRIM_EVERY) {
      entry.sinceTrim = 0;
      trimLatencies(entry.breaker);
    }
    return entry.breaker;
  }

  stateOf(server: string): BreakerState {
    if (this.forced.has(server)) return "open";
    const shared = this.shared.get(server);
    if (shared) return this.now() < (shared.retryAt ?? 0) ? "open" : "halfOpen";
    return this.entries.get(server)?.state ?? "closed";
  }

  /** Epoch ms when the open breaker half-opens; undefined when closed, half-open or forced open. */
  retryAt(server: string): number | undefined {
    if (this.forced.has(server)) return undefined;
    const shared = this.shared.get(server);
    if (shared) return this.now() < (shared.retryAt ?? 0) ? shared.retryAt : undefined;
    const entry = this.entries.get(server);
    if (entry?.state !== "open") return undefined;
    return entry.openedAt + entry.resetTimeoutMs;
  }

  /**
   * Another replica opened or closed `server`'s breaker (cluster mode): mirrored here, so calls on this
   * replica fail fast without asking Redis. A closing also closes this replica's own breaker.
   */
  applyShared(change: SharedBreakerChange): void {
    const { server } = change;
    const from = this.stateOf(server);
    if (change.state === "open") this.shared.set(server, change);
    else {
      this.shared.delete(server);
      const breaker = this.entries.get(server)?.breaker;
      this.applying = true;
      try {
        if (breaker && !breaker.closed) breaker.close();
      } finally {
        this.applying = false;
      }
    }
    const to = this.stateOf(server);
    if (from !== to)
      this.emit({ server, from, to, retryAt: change.retryAt, lastError: change.lastError, forced: false });
  }

  /** True when `server`'s shared breaker is past its retryAt: the next call must win the probe lock. */
  probeDue(server: string): boolean {
    const shared = this.shared.get(server);
    return shared !== undefined && this.now() >= (shared.retryAt ?? 0);
  }

  /**
   * Runs `call` as the cluster's one half-open probe of `server`, if this replica wins the lock; else
   * BREAKER_OPEN ("a probe is in flight"). Its success closes the breaker everywhere; a failure that
   * counts re-opens it everywhere for another resetTimeout.
   */
  async probe<R>(server: string, call: () => Promise<R>): Promise<R> {
    const share = this.options.share;
    if (!share) return await call();
    if (!(await share.acquireProbe(server))) throw this.probeElsewhere(server);
    try {
      const result = await call();
      if (this.shared.delete(server)) share.publish({ server, state: "closed", replica: share.replicaId });
      return result;
    } catch (error) {
      const known = this.shared.get(server);
      if (countsForBreaker(error) && (known === undefined || this.now() >= (known.retryAt ?? 0))) {
        const s = this.settingsFor(server);
        const change: SharedBreakerChange = {
          server,
          state: "open",
          retryAt: this.now() + s.resetTimeoutMs,
          lastError: errorMessage(error),
          failures: 1,
          replica: share.replicaId,
        };
        this.shared.set(server, change);
        share.publish(change);
      }
      throw error;
    } finally {
      share.releaseProbe(server);
    }
  }

  /** Open until reset(server): for a server marked failed after its restart budget. */
  forceOpen(server: string, reason: string): void {
    const from = this.stateOf(server);
    const wasForced = this.forced.has(server);
    this.forced.set(server, reason);
    if (!wasForced)
      this.emit({ server, from, to: "open", retryAt: undefined, lastError: reason, forced: true });
  }

  /** Forget everything about the server's breaker (forced or not); the next call starts a fresh one closed. */
  reset(server: string): void {
    const from = this.stateOf(server);
    this.forced.delete(server);
    this.shared.delete(server);
    this.entries.get(server)?.breaker.shutdown();
    this.entries.delete(server);
    if (from !== "closed")
      this.emit({ server, from, to: "closed", retryAt: undefined, lastError: undefined, forced: false });
  }

  /** A failure seen outside tools/call (a failed health-check ping). Ignored while open or probing. */
  recordFailure(server: string, err: unknown): void {
    if (this.forced.has(server)) return;
    const breaker = this.get(server);
    if (!breaker.closed && !breaker.pendingClose) return;
    const fail: Handler = () => Promise.reject(err instanceof Error ? err : new Error(String(err)));
    void breaker.fire(fail, undefined as never).catch(noop);
  }

  /** The error a call gets right now without reaching the server, or undefined when it may pass. */
  rejection(server: string): AggregatorError | undefined {
    const reason = this.forced.get(server);
    if (reason !== undefined) {
      return new AggregatorError("BREAKER_OPEN", `${server} is unavailable (marked failed: ${reason})`, {
        details: { server, retryAt: undefined, lastError: reason, forced: true },
      });
    }
    const shared = this.shared.get(server);
    if (shared && this.now() < (shared.retryAt ?? 0)) {
      const retryAt = shared.retryAt ?? 0;
      const by = shared.replica === this.options.share?.replicaId ? "" : ` on replica ${shared.replica}`;
      return new AggregatorError(
        "BREAKER_OPEN",
        `${server} is unavailable (circuit opened${by}: ${shared.lastError ?? "unknown error"}); next attempt at ${new Date(retryAt).toISOString()} (in ${Math.max(0, Math.ceil((retryAt - this.now()) / 1000))}s)`,
        { details: { server, retryAt, lastError: shared.lastError, replica: shared.replica } },
      );
    }
    if (shared) return undefined; // past retryAt: the breaker layer takes the cluster's probe lock
    const entry = this.entries.get(server);
    if (!entry || entry.breaker.closed || entry.breaker.pendingClose) return undefined;
    const cause = `circuit ${entry.state === "open" ? "open" : "half-open"} after ${entry.failuresAtOpen} failures: ${entry.lastError ?? "unknown error"}`;
    const retryAt = this.retryAt(server);
    const when =
      retryAt === undefined
        ? "a probe call is in flight; try again in a moment"
        : `next attempt at ${new Date(retryAt).toISOString()} (in ${Math.max(0, Math.ceil((retryAt - this.now()) / 1000))}s)`;
    return new AggregatorError("BREAKER_OPEN", `${server} is unavailable (${cause}); ${when}`, {
      details: { server, retryAt, lastError: entry.lastError },
    });
  }

  /** Stops every breaker's timers (opossum's reset timer and rolling-window interval). */
  shutdown(): void {
    for (const entry of this.entries.values()) entry.breaker.shutdown();
    this.entries.clear();
  }

  private create(server: string): Entry {
    const s = this.settingsFor(server);
    // Explicit options: opossum's defaults include a 10 s call timeout; ours is the deadline layer's job.
    const breaker: Breaker = new CircuitBreaker(run, {
      name: server,
      timeout: false,
      errorThresholdPercentage: s.errorThresholdPercentage,
      volumeThreshold: s.volumeThreshold,
      rollingCountTimeout: s.rollingCountTimeoutMs,
      rollingCountBuckets: 10,
      resetTimeout: s.resetTimeoutMs,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // true = "not a failure" (opossum then records a success). A CANCELLED past the call's deadline is
      // the total budget running out inside the breaker: a timeout, so it counts.
      // One lost link (a crash, a dropped connection, an expired session) fails every call in flight on it;
      // that is one failure, not one per call: otherwise a single crash with a few calls in flight opens the
      // breaker and their retries, meant for exactly this, end at once with BREAKER_OPEN.
      errorFilter: (err: unknown, ...args: unknown[]) =>
        (!countsForBreaker(err) && !this.pastDeadline(err, args[1])) || repeatIncident(entry, err),
    });
    const entry: Entry = {
      breaker,
      resetTimeoutMs: s.resetTimeoutMs,
      state: "closed",
      openedAt: 0,
      failuresAtOpen: 0,
      lastError: undefined,
      lastIncident: undefined,
      sinceTrim: 0,
    };
    breaker.on("failure", (err: unknown) => {
      entry.lastError = errorMessage(err);
    });
    breaker.on("open", () => {
      entry.openedAt = this.now();
      entry.failuresAtOpen = breaker.stats.failures;
      this.transition(server, entry, "open");
    });
    breaker.on("halfOpen", () => this.transition(server, entry, "halfOpen"));
    breaker.on("close", () => this.transition(server, entry, "closed"));
    this.entries.set(server, entry);
    return entry;
  }

  private pastDeadline(err: unknown, ctx: unknown): boolean {
    if (!isAggregatorError(err, "CANCELLED") || typeof ctx !== "object" || ctx === null) return false;
    const deadlineAt = (ctx as CallContext).deadlineAt;
    return deadlineAt > 0 && this.now() >= deadlineAt;
  }

  private transition(server: string, entry: Entry, to: BreakerState): void {
    const from = this.forced.has(server) ? "open" : this.stateOf(server);
    entry.state = to;
    if (this.forced.has(server)) return;
    this.share(server, entry, to);
    const now = this.stateOf(server);
    if (from === now) return;
    this.emit({
      server,
      from,
      to: now,
      retryAt: this.retryAt(server),
      lastError: entry.lastError,
      forced: false,
    });
  }

  /** Cluster mode: this replica's own opening or closing becomes the cluster's (mirrored here too). */
  private share(server: string, entry: Entry, to: BreakerState): void {
    const share = this.options.share;
    if (!share || this.applying) return;
    if (to === "open") {
      const change: SharedBreakerChange = {
        server,
        state: "open",
        retryAt: entry.openedAt + entry.resetTimeoutMs,
        lastError: entry.lastError,
        failures: entry.failuresAtOpen,
        replica: share.replicaId,
      };
      this.shared.set(server, change);
      share.publish(change);
    } else if (to === "closed" && this.shared.delete(server)) {
      share.publish({ server, state: "closed", replica: share.replicaId });
    }
  }

  private probeElsewhere(server: string): AggregatorError {
    const lastError = this.shared.get(server)?.lastError;
    return new AggregatorError(
      "BREAKER_OPEN",
      `${server} is unavailable (circuit half-open: ${lastError ?? "unknown error"}); a probe call is in flight on another replica; try again in a moment`,
      { details: { server, retryAt: undefined, lastError } },
    );
  }

  private emit(change: BreakerStateChange): void {
    this.options.onStateChange?.(change.server, change.to, change);
  }
}

/**
 * Fails fast while the server's breaker is open (or a half-open probe is in flight): throws BREAKER_OPEN
 * naming the server, the last failure and when it will be tried again, without calling next.
 */
export function createBreakerLayer(registry: BreakerRegistry): Middleware {
  return (next) =>
    async function breakerLayer(ctx): Promise<CallToolResult> {
      const server = ctx.route.server;
      const rejected = registry.rejection(server);
      if (rejected) {
        ctx.trace?.set(PIPELINE_ATTR.breakerState, registry.stateOf(server));
        throw rejected;
      }
      const breaker = registry.get(server);
      if (!breaker.closed) ctx.trace?.set(PIPELINE_ATTR.breakerState, registry.stateOf(server));
      try {
        // Cluster mode, the breaker open somewhere and past its retryAt: one replica probes.
        if (registry.probeDue(server)) return await registry.probe(server, () => breaker.fire(next, ctx));
        return await breaker.fire(next, ctx);
      } catch (error) {
        // opossum's own rejection (a concurrent call took the half-open probe slot first).
        if (error instanceof Error && CircuitBreaker.isOurError(error))
          throw registry.rejection(server) ?? error;
        throw error;
      }
    };
}
