export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Restart budget: at most maxRestarts within a sliding windowMs. Delays grow exponentially with full
 * jitter between half and all of the step, so several crashed servers do not restart in lockstep.
 */
export class RestartBudget {
  private readonly times: number[] = [];

  constructor(
    private readonly policy: RestartPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records an attempt and returns its delay in ms, or undefined when the budget is spent. */
  next(now: number): number | undefined {
    while (this.times.length > 0 && now - (this.times[0] ?? 0) > this.policy.windowMs) this.times.shift();
    if (this.times.length >= this.policy.maxRestarts) return undefined;
    const step = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** this.times.length);
    this.times.push(now);
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  get recent(): number {
    return this.times.length;
  }

  reset(): void {
    this.times.length = 0;
  }
}
