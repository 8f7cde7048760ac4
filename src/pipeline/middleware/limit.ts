import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AggregatorError } from "../../errors.js";
import type { Cancellation } from "../cancel.js";
import type { LimiterSettings } from "../settings.js";
import { invoke } from "../compose.js";
import type { CallContext, Middleware } from "../types.js";

export interface ServerLimiterOptions extends LimiterSettings {
  /** Server name, for messages. */
  readonly server: string;
}

interface Waiter {
  readonly write: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  stopWatching: () => void;
}

/**
 * Per-server concurrency: `maxConcurrency` slots and a bounded FIFO queue of `maxQueue` waiters.
 * With `serializeWrites`, a write never overlaps another write (server-memory loses concurrent writes);
 * reads keep running beside a write. A read may pass a queued write only while that write waits for
 * another write to finish, so writes are never starved by reads.
 */
export class ServerLimiter {
  readonly server: string;
  private readonly maxConcurrency: number;
  private readonly maxQueue: number;
  private readonly serializeWrites: boolean;
  private running = 0;
  private writing = 0;
  private readonly queue: Waiter[] = [];

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
    return this.queue.length;
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

  /** Waits in the queue for a slot; SERVER_BUSY when the queue is full, CANCELLED when the signal aborts. */
  acquire(write: boolean, cancel: Cancellation): Promise<void> {
    if (this.tryAcquire(write)) return Promise.resolve();
    if (cancel.aborted) return Promise.reject(this.cancelled(cancel.reason));
    if (this.queue.length >= this.maxQueue) return Promise.reject(this.busy());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { write, resolve, reject, stopWatching: noop };
      waiter.stopWatching = cancel.onAbort(() => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(this.cancelled(cancel.reason));
        this.drain(); // a write that left may unblock reads queued behind it
      });
      this.queue.push(waiter);
    });
  }

  /**
   * Settle handlers that release a slot of this kind and pass the outcome on, made once per limiter (no
   * closure per call): `promise.then(...limiter.releasing(write))`.
   */
  releasing(write: boolean): readonly [<T>(value: T) => T, (error: unknown) => never] {
    return write ? this.releaseWrite : this.releaseRead;
  }

  private readonly releaseRead = this.releaser(false);
  private readonly releaseWrite = this.releaser(true);

  private releaser(write: boolean): readonly [<T>(value: T) => T, (error: unknown) => never] {
    return [
      <T>(value: T): T => {
        this.release(write);
        return value;
      },
      (error: unknown): never => {
        this.release(write);
        throw error;
      },
    ];
  }

  release(write: boolean): void {
    this.running--;
    if (write && this.serializeWrites) this.writing--;
    if (this.queue.length > 0) this.drain();
  }

  private canRun(write: boolean): boolean {
    return this.running < this.maxConcurrency && !(write && this.serializeWrites && this.writing > 0);
  }

  private take(write: boolean): void {
    this.running++;
    if (write && this.serializeWrites) this.writing++;
  }

  /** Starts queued calls in FIFO order, skipping writes that must wait for the write in flight. */
  private drain(): void {
    for (let i = 0; i < this.queue.length && this.running < this.maxConcurrency;) {
      const waiter = this.queue[i] as Waiter;
      if (!this.canRun(waiter.write)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      waiter.stopWatching();
      this.take(waiter.write);
      waiter.resolve();
    }
  }

  private busy(): AggregatorError {
    return new AggregatorError(
      "SERVER_BUSY",
      `${this.server} is busy: ${this.running} calls in flight and ${this.queue.length} queued (maxConcurrency ${this.maxConcurrency}, maxQueue ${this.maxQueue}); try again shortly`,
      { details: { server: this.server, inFlight: this.running, queued: this.queue.length } },
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
  return (next) => {
    // Not async: a free slot (the usual case) costs one `.then` with the limiter's own handlers.
    const holding = (limiter: ServerLimiter, write: boolean, ctx: CallContext): Promise<CallToolResult> => {
      const [released, failed] = limiter.releasing(write);
      return invoke(next, ctx).then(released, failed);
    };
    const queued = async (limiter: ServerLimiter, write: boolean, ctx: CallContext) => {
      await limiter.acquire(write, ctx.cancel);
      return holding(limiter, write, ctx);
    };
    return function limitLayer(ctx): Promise<CallToolResult> {
      const limiter = limiterFor(ctx.route.server);
      const write = !ctx.route.policy.hints.readOnly;
      return limiter.tryAcquire(write) ? holding(limiter, write, ctx) : queued(limiter, write, ctx);
    };
  };
}

function noop(): void {
  // replaced once the waiter watches its call's cancellation
}
