import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError } from "../../errors.js";
import type { LimiterSettings } from "../settings.js";
import { onAbort } from "../../signals.js";
import { PIPELINE_ATTR } from "../../telemetry/semconv.js";
import type { Middleware } from "../types.js";

export interface ServerLimiterOptions extends LimiterSettings {
  /** Server name, for messages. */
  readonly server: string;
}

interface Waiter {
  readonly key: string;
  readonly write: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  stopWatching: () => void;
}

/** Fairness key of calls that name no client (internal calls). */
const NO_CLIENT = "";

/**
 * Per-server concurrency: `maxConcurrency` slots and a bounded queue of `maxQueue` waiters in all.
 * The queue is fair between clients: each client (the call's principal, else its session) has its own
 * FIFO, and a free slot goes to the clients in turn (round robin), so one client with many queued calls
 * cannot make another wait behind all of them. With `serializeWrites`, a write never overlaps another
 * write (server-memory loses concurrent writes); reads keep running beside a write. A read may pass a
 * queued write only while that write waits for another write to finish, so writes are never starved.
 */
export class ServerLimiter {
  readonly server: string;
  private readonly maxConcurrency: number;
  private readonly maxQueue: number;
  private readonly serializeWrites: boolean;
  private running = 0;
  private writing = 0;
  /** Waiters by client, FIFO each; the Map's order is the round robin (a client served goes last). */
  private readonly queues = new Map<string, Waiter[]>();
  private waiting = 0;

  constructor(options: ServerLimiterOptions) {
    this.server = options.server;
    this.maxConcurrency = Math.max(1, options.maxConcurrency);
    this.maxQueue = Math.max(0, options.maxQueue);
    this.serializeWrites = options.serializeWrites;
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting;
  }

  /**
   * Takes a slot at once when one is free for this kind of call (the hot path: no promise). Queued calls
   * never lose their turn to it: the queue is drained on every release, so whatever still waits is blocked
   * (no slot, or a write behind a write) and a newcomer that can run is not ahead of anyone runnable.
   */
  tryAcquire(write: boolean): boolean {
    if (!this.canRun(write)) return false;
    this.take(write);
    return true;
  }

  /**
   * Waits in the client's queue for a slot; SERVER_BUSY when the queue is full, CANCELLED when the signal
   * aborts. `client` is the fairness key (principal or session); calls without one share a queue.
   */
  acquire(write: boolean, signal: AbortSignal, client: string = NO_CLIENT): Promise<void> {
    if (this.tryAcquire(write)) return Promise.resolve();
    if (signal.aborted) return Promise.reject(this.cancelled(signal.reason));
    if (this.waiting >= this.maxQueue) return Promise.reject(this.busy());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { key: client, write, resolve, reject, stopWatching: noop };
      waiter.stopWatching = onAbort(signal, () => {
        this.remove(waiter);
        reject(this.cancelled(signal.reason));
        this.drain(); // a write that left may unblock reads queued behind it
      });
      const list = this.queues.get(client);
      if (list) list.push(waiter);
      else this.queues.set(client, [waiter]);
      this.waiting++;
    });
  }

  private remove(waiter: Waiter): void {
    const list = this.queues.get(waiter.key);
    const i = list ? list.indexOf(waiter) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    this.waiting--;
    if (list.length === 0) this.queues.delete(waiter.key);
  }

  release(write: boolean): void {
    this.running--;
    if (write && this.serializeWrites) this.writing--;
    if (this.waiting > 0) this.drain();
  }

  private canRun(write: boolean): boolean {
    return this.running < this.maxConcurrency && !(write && this.serializeWrites && this.writing > 0);
  }

  private take(write: boolean): void {
    this.running++;
    if (write && this.serializeWrites) this.writing++;
  }

  /**
   * Starts queued calls while slots are free: one call per client in turn (the client served moves to the
   * back of the round robin), each client's calls in FIFO order, skipping writes that must wait for the
   * write in flight.
   */
  private drain(): void {
    while (this.waiting > 0 && this.running < this.maxConcurrency) {
      const waiter = this.nextRunnable();
      if (!waiter) return;
      this.remove(waiter);
      const rest = this.queues.get(waiter.key);
      if (rest) {
        this.queues.delete(waiter.key);
        this.queues.set(waiter.key, rest);
      }
      waiter.stopWatching();
      this.take(waiter.write);
      waiter.resolve();
    }
  }

  /** The first waiter that may run now, taking clients in round-robin order. */
  private nextRunnable(): Waiter | undefined {
    for (const list of this.queues.values())
      for (const waiter of list) if (this.canRun(waiter.write)) return waiter;
    return undefined;
  }

  private busy(): AggregatorError {
    return new AggregatorError(
      "SERVER_BUSY",
      `${this.server} is busy: ${this.running} calls in flight and ${this.waiting} queued (maxConcurrency ${this.maxConcurrency}, maxQueue ${this.maxQueue}); try again shortly`,
      { details: { server: this.server, inFlight: this.running, queued: this.waiting } },
    );
  }

  private cancelled(reason: unknown): AggregatorError {
    return new AggregatorError("CANCELLED", "the call was cancelled while waiting for a free slot", {
      cause: reason,
      details: { server: this.server },
    });
  }
}

/** Holds one of the server's slots for the duration of next(); queued calls leave at once on abort. */
export function createLimitLayer(limiterFor: (server: string) => ServerLimiter): Middleware {
  return (next) =>
    async function limitLayer(ctx): Promise<CallToolResult> {
      const limiter = limiterFor(ctx.route.server);
      const write = !ctx.route.policy.hints.readOnly;
      // A free slot (the usual case) is taken without a promise; otherwise wait in the client's queue.
      if (!limiter.tryAcquire(write)) {
        const waitFrom = performance.now();
        await limiter.acquire(write, ctx.signal, ctx.client);
        ctx.trace?.set(PIPELINE_ATTR.queueWaitMs, Math.round(performance.now() - waitFrom));
      }
      try {
        return await next(ctx);
      } finally {
        limiter.release(write);
      }
    };
}

function noop(): void {
  // replaced once the waiter watches its call's cancellation
}
