/** Tool behaviour hints after config overrides and the server's trustAnnotations switch are applied. */
export interface ToolHints {
  readonly readOnly: boolean;
  readonly idempotent: boolean;
  readonly destructive: boolean;
}

/** Everything the pipeline needs to know about one tool, resolved once per catalog build (not per call). */
export interface ToolPolicy {
  readonly hints: ToolHints;
  /** True when a failed attempt may be sent again: readOnly || idempotent. */
  readonly retrySafe: boolean;
  /** Per-attempt budget in ms; progress from downstream restarts it. */
  readonly timeoutMs: number;
  /** Whole-call budget in ms across attempts and backoff sleeps. */
  readonly totalTimeoutMs: number;
  /** > 0 only for read-only tools that opted in. */
  readonly cacheTtlMs: number;
}

/** The route a public tool name resolves to. */
export interface ToolRoute {
  readonly publicName: string;
  /** Config key of the downstream server. */
  readonly server: string;
  readonly originalName: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly policy: ToolPolicy;
}
