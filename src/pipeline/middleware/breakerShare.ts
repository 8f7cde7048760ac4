/**
 * A server's breaker as every replica sees it (cluster mode): opened somewhere until `retryAt`, or
 * closed again by a successful probe. Published by the replica where it changed, mirrored by the others.
 */
export interface SharedBreakerChange {
  readonly server: string;
  readonly state: "open" | "closed";
  /** Epoch ms when a probe may go through (open only). */
  readonly retryAt?: number | undefined;
  readonly lastError?: string | undefined;
  readonly failures?: number | undefined;
  /** The replica where it changed. */
  readonly replica: string;
}

/**
 * The seam to the other replicas (src/cluster/breakers.ts): publish this replica's openings and
 * closings, and let one replica at a time run a half-open probe. Absent in embedded mode.
 */
export interface BreakerShare {
  readonly replicaId: string;
  /** Tells the other replicas (fire and forget: a Redis outage leaves every replica with its own breakers). */
  publish(change: SharedBreakerChange): void;
  /** True for the one replica allowed to probe `server` now (true too when Redis cannot say). */
  acquireProbe(server: string): Promise<boolean>;
  releaseProbe(server: string): void;
}
