import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { BreakerRegistry, BreakerShare, SharedBreakerChange } from "../pipeline/middleware/breaker.js";
import type { ClusterState } from "./connection.js";

/** Deletes the probe lock only if this replica still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

function parse(message: string): SharedBreakerChange | undefined {
  try {
    const m = JSON.parse(message) as Partial<SharedBreakerChange>;
    if (typeof m.server !== "string" || typeof m.replica !== "string") return undefined;
    if (m.state !== "open" && m.state !== "closed") return undefined;
    return m as SharedBreakerChange;
  } catch {
    return undefined;
  }
}

/**
 * Breakers shared through Redis. An opening is written (key `breaker:<server>`, expiring after the
 * probe window) and published (channel `breakers`) in one MULTI; every replica mirrors it in memory
 * (BreakerRegistry.applyShared), so a call costs no Redis read. One replica at a time probes a
 * half-open server: `SET probe:<server> <replica> NX PX probeLockMs`. After a reconnect the open
 * breakers are read back (MGET) since messages sent meanwhile were lost.
 */
export class RedisBreakerShare implements BreakerShare {
  readonly replicaId: string;
  private registry: BreakerRegistry | undefined;
  private servers: () => readonly string[] = () => [];

  constructor(
    private readonly state: ClusterState,
    private readonly log: Logger,
  ) {
    this.replicaId = state.replicaId;
  }

  /** Starts mirroring into `registry` the breakers of `servers` (read now and after every reconnect). */
  attach(registry: BreakerRegistry, servers: () => readonly string[]): () => void {
    this.registry = registry;
    this.servers = servers;
    const off = this.state.subscribe(this.state.key("breakers"), (message) => {
      const change = parse(message);
      if (change && change.replica !== this.replicaId) registry.applyShared(change);
    });
    const offReconnect = this.state.onReconnect(() => void this.resync());
    void this.resync();
    return () => {
      off();
      offReconnect();
    };
  }

  /** Reads the open breakers back from Redis (start-up, reconnect). */
  async resync(): Promise<void> {
    const registry = this.registry;
    const servers = this.servers();
    if (!registry || servers.length === 0 || !this.state.ready) return;
    try {
      const values = await this.state.redis.mget(...servers.map((s) => this.state.key("breaker", s)));
      for (const value of values) {
        const change = value === null ? undefined : parse(value);
        if (change && change.replica !== this.replicaId) registry.applyShared(change);
      }
    } catch (error) {
      this.log.warn({ err: errorMessage(error) }, "cluster: could not read the shared breakers");
    }
  }

  publish(change: SharedBreakerChange): void {
    const key = this.state.key("breaker", change.server);
    const channel = this.state.key("breakers");
    const payload = JSON.stringify(change);
    const ttl = Math.max(1, (change.retryAt ?? Date.now()) - Date.now()) + this.state.options.probeLockMs;
    this.state
      .call("breaker", (r) =>
        change.state === "open"
          ? r.multi().set(key, payload, "PX", ttl).publish(channel, payload).exec()
          : r.multi().del(key).publish(channel, payload).exec(),
      )
      .catch((error: unknown) =>
        this.log.warn(
          { server: change.server, breaker: change.state, err: errorMessage(error) },
          "cluster: could not share a breaker change (each replica keeps its own until Redis is back)",
        ),
      );
  }

  async acquireProbe(server: string): Promise<boolean> {
    try {
      const ok = await this.state.call("breaker probe", (r) =>
        r.set(this.state.key("probe", server), this.replicaId, "PX", this.state.options.probeLockMs, "NX"),
      );
      return ok === "OK";
    } catch {
      return true; // Redis cannot say: this replica's own breaker still lets only one probe through
    }
  }

  releaseProbe(server: string): void {
    this.state
      .call("breaker probe", (r) => r.eval(RELEASE, 1, this.state.key("probe", server), this.replicaId))
      .catch(() => undefined); // the lock expires by itself after probeLockMs
  }
}
