import type { Redis, RedisOptions } from "ioredis";
import { AggregatorError, errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ClusterOptions } from "./settings.js";

/** Where the replica stands with Redis: /readyz reports it, calls that need shared state consult it. */
export type ClusterHealth = "connecting" | "ready" | "down" | "closed";

export interface ClusterStatus {
  readonly state: ClusterHealth;
  /** Why not ready (the last connection error), when not ready. */
  readonly reason?: string | undefined;
  /** Epoch ms of the last change. */
  readonly since: number;
}

type StatusListener = (status: ClusterStatus) => void;

/** The one place that turns a Redis failure into the error a call gets. */
export function clusterUnavailable(what: string, cause: unknown): AggregatorError {
  return new AggregatorError(
    "CLUSTER_STATE_UNAVAILABLE",
    `shared cluster state is unavailable (${what}: ${errorMessage(cause)}); try again once Redis is back`,
    { cause, details: { what } },
  );
}

/**
 * The replica's two Redis connections (ioredis 6): one for commands, one for pub/sub (a subscribed
 * connection can issue nothing else). Both connect lazily on connect(), reconnect forever with
 * exponential backoff, and never queue commands while down (`enableOfflineQueue: false`): a call that
 * needs Redis while it is away fails at once with CLUSTER_STATE_UNAVAILABLE instead of hanging.
 * Made by openCluster (index.ts), which loads ioredis only when a Redis URL is configured.
 */
export class ClusterState {
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly replicaId: string;
  readonly keyPrefix: string;
  readonly options: ClusterOptions;
  /** Redis round trips made for calls (commands, pipelines and MULTIs count one each); /metrics shows it. */
  roundTrips = 0;
  private current: ClusterStatus = { state: "connecting", since: Date.now() };
  private readonly statusListeners = new Set<StatusListener>();
  private readonly reconnectListeners = new Set<() => void>();
  private lastError: string | undefined;
  private wasReady = false;
  /** Channels wanted, each with its handlers; (re)subscribed whenever the subscriber link is ready. */
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  constructor(
    RedisClass: new (url: string, options: RedisOptions) => Redis,
    options: ClusterOptions,
    private readonly log: Logger,
  ) {
    this.options = options;
    this.replicaId = options.replicaId;
    this.keyPrefix = options.keyPrefix;
    const { minDelayMs, maxDelayMs } = options.reconnect;
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      // A command in flight when the link drops fails at once; it is not replayed on a new link.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: (times) => Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(20, times - 1)),
      connectionName: `autonomous-mcp:${options.replicaId}`,
    };
    this.redis = new RedisClass(options.redisUrl, common);
    this.subscriber = new RedisClass(options.redisUrl, {
      ...common,
      commandTimeout: undefined,
      // We resubscribe ourselves on every "ready" (also channels whose first SUBSCRIBE failed while down).
      autoResubscribe: false,
    });
    this.subscriber.on("message", (channel: string, message: string) => {
      const handlers = this.channels.get(channel);
      if (handlers) for (const handler of [...handlers]) handler(message);
    });
    this.subscriber.on("ready", () => this.resubscribe());
    for (const [role, conn] of [
      ["commands", this.redis],
      ["subscriber", this.subscriber],
    ] as const) {
      conn.on("error", (err: unknown) => {
        const message = errorMessage(err);
        if (message !== this.lastError)
          this.log.warn({ redis: role, err: message }, "redis connection error");
        this.lastError = message;
        this.update();
      });
      conn.on("ready", () => this.update());
      conn.on("close", () => this.update());
      conn.on("end", () => this.update());
    }
  }

  /** Starts both connections (resolves when both are up; rejects if the first attempt fails, reconnecting goes on). */
  async connect(): Promise<void> {
    await Promise.all([this.redis.connect(), this.subscriber.connect()]);
  }

  status(): ClusterStatus {
    return this.current;
  }

  /** True while both connections are up. */
  get ready(): boolean {
    return this.current.state === "ready";
  }

  /** Resolves once both connections are ready (at once when they are); rejects when `signal` aborts. */
  whenReady(signal?: AbortSignal): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.statusListeners.delete(listener);
        signal?.removeEventListener("abort", aborted);
      };
      const listener: StatusListener = (s) => {
        if (s.state === "ready") {
          done();
          resolve();
        } else if (s.state === "closed") {
          done();
          reject(clusterUnavailable("connect", "closed"));
        }
      };
      const aborted = (): void => {
        done();
        reject(signal?.reason as Error);
      };
      this.statusListeners.add(listener);
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Told each time both connections are up again after a loss (not on the first connect): resync state. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /**
   * Calls `handler` with every message published on `channel` (a full name: use key()). Subscribed now if
   * the link is up, and again after every reconnect; messages published while it is down are lost
   * (subscribers resync from keys on onReconnect). Returns the unsubscriber.
   */
  subscribe(channel: string, handler: (message: string) => void): () => void {
    let handlers = this.channels.get(channel);
    if (!handlers) {
      this.channels.set(channel, (handlers = new Set()));
      if (this.subscriber.status === "ready") this.resubscribe([channel]);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size > 0 || this.channels.get(channel) !== handlers) return;
      this.channels.delete(channel);
      if (this.subscriber.status === "ready") this.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** A key or channel name under the prefix: key("breaker", server) → "<prefix>breaker:<server>". */
  key(...parts: readonly string[]): string {
    return `${this.keyPrefix}${parts.join(":")}`;
  }

  /**
   * One round trip to Redis on the command connection, counted; any failure (down, timeout, a script
   * error) becomes CLUSTER_STATE_UNAVAILABLE naming `what`.
   */
  async call<T>(what: string, op: (redis: Redis) => Promise<T>): Promise<T> {
    this.roundTrips++;
    if (this.redis.status !== "ready")
      throw clusterUnavailable(what, this.lastError ?? `redis is ${this.redis.status}`);
    try {
      return await op(this.redis);
    } catch (error) {
      throw clusterUnavailable(what, error);
    }
  }

  async close(): Promise<void> {
    const quit = (conn: Redis): Promise<unknown> =>
      conn.status === "ready"
        ? conn.quit().catch(() => conn.disconnect())
        : Promise.resolve(conn.disconnect());
    await Promise.all([quit(this.redis), quit(this.subscriber)]);
    this.set({ state: "closed", since: Date.now() });
  }

  private resubscribe(channels: readonly string[] = [...this.channels.keys()]): void {
    if (channels.length === 0) return;
    this.subscriber.subscribe(...channels).catch((error: unknown) => {
      // The link went away again: its next "ready" subscribes again.
      this.log.debug({ err: errorMessage(error) }, "redis subscribe failed");
    });
  }

  private update(): void {
    if (this.current.state === "closed") return;
    const up = this.redis.status === "ready" && this.subscriber.status === "ready";
    if (up) {
      if (this.current.state === "ready") return;
      const again = this.wasReady;
      this.wasReady = true;
      this.lastError = undefined;
      this.set({ state: "ready", since: Date.now() });
      this.log.info({ replica: this.replicaId }, again ? "redis reconnected" : "redis connected");
      if (again) for (const listener of this.reconnectListeners) listener();
      return;
    }
    const state: ClusterHealth = this.wasReady ? "down" : "connecting";
    const reason = this.lastError ?? `redis ${this.redis.status}, subscriber ${this.subscriber.status}`;
    if (this.current.state === state && this.current.reason === reason) return;
    if (this.current.state === "ready")
      this.log.warn({ reason }, "redis lost: shared cluster state unavailable");
    this.set({ state, reason, since: Date.now() });
  }

  private set(status: ClusterStatus): void {
    this.current = status;
    for (const listener of [...this.statusListeners]) listener(status);
  }
}
