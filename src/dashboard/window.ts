/**
 * Per-server call statistics over the last few minutes, for the dashboard: calls, errors and latency
 * percentiles in fixed time buckets (10 s each, 5 minutes by default). Each bucket keeps at most
 * SAMPLES_PER_BUCKET durations (a uniform reservoir sample past that), so memory is bounded per server
 * whatever the call rate; percentiles are computed when the dashboard asks, never per call.
 */

export const BUCKET_MS = 10_000;
export const SAMPLES_PER_BUCKET = 256;

export interface WindowStats {
  readonly calls: number;
  readonly errors: number;
  /** errors / calls, 0..1 (0 without calls). */
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

class Bucket {
  epoch = -1;
  calls = 0;
  errors = 0;
  readonly samples = new Float64Array(SAMPLES_PER_BUCKET);
  kept = 0;

  reset(epoch: number): void {
    this.epoch = epoch;
    this.calls = 0;
    this.errors = 0;
    this.kept = 0;
  }
}

export class CallWindow {
  private readonly servers = new Map<string, Bucket[]>();
  private readonly size: number;

  constructor(
    windowMs = 5 * 60_000,
    private readonly random: () => number = Math.random,
  ) {
    this.size = Math.max(1, Math.ceil(windowMs / BUCKET_MS));
  }

  get windowMs(): number {
    return this.size * BUCKET_MS;
  }

  record(server: string, at: number, durationMs: number, error: boolean): void {
    let ring = this.servers.get(server);
    if (!ring) this.servers.set(server, (ring = Array.from({ length: this.size }, () => new Bucket())));
    const epoch = Math.floor(at / BUCKET_MS);
    const b = ring[epoch % this.size] as Bucket;
    if (b.epoch !== epoch) b.reset(epoch);
    b.calls++;
    if (error) b.errors++;
    if (b.kept < SAMPLES_PER_BUCKET) b.samples[b.kept++] = durationMs;
    else {
      const slot = Math.floor(this.random() * b.calls);
      if (slot < SAMPLES_PER_BUCKET) b.samples[slot] = durationMs;
    }
  }

  /** The window ending at `now`; undefined for a server with no call in it. */
  stats(server: string, now: number): WindowStats | undefined {
    const ring = this.servers.get(server);
    if (!ring) return undefined;
    const newest = Math.floor(now / BUCKET_MS);
    let calls = 0;
    let errors = 0;
    const all: number[] = [];
    for (const b of ring) {
      if (b.epoch <= newest - this.size || b.epoch > newest) continue;
      calls += b.calls;
      errors += b.errors;
      for (let i = 0; i < b.kept; i++) all.push(b.samples[i] as number);
    }
    if (calls === 0) return undefined;
    all.sort((a, b) => a - b);
    return { calls, errors, errorRate: errors / calls, p50Ms: rank(all, 0.5), p99Ms: rank(all, 0.99) };
  }

  forget(server: string): void {
    this.servers.delete(server);
  }
}

/** Nearest-rank percentile of an ascending array. */
function rank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}
