import type { CallOrigin } from "../front/backend.js";
import type { CallEvent, Outcome } from "../pipeline/middleware/observe.js";
import type { WorkflowObserver, WorkflowRunWatch } from "../workflows/register.js";
import type { StepTrace } from "../workflows/state.js";
import { CallWindow } from "./window.js";

/** One finished call as the dashboard lists it (error text already scrubbed). */
export interface RecentCall {
  readonly at: number;
  readonly id: string;
  readonly tool: string;
  readonly server: string;
  readonly originalTool: string;
  readonly outcome: Outcome;
  readonly durationMs: number;
  readonly principal?: string;
  readonly session?: string;
  readonly error?: string;
}

export interface WorkflowRun {
  readonly id: number;
  readonly name: string;
  readonly startedAt: number;
  readonly principal?: string;
  status: "running" | "ok" | "partial" | "failed" | "cancelled";
  durationMs?: number;
  /** Each step's trace; `startMs` is when it began, from the run's start (for the waterfall). */
  readonly steps: (StepTrace & { startMs?: number })[];
  failed?: { readonly step: string; readonly error: string };
}

export interface ActivityOptions {
  /** Calls listed (newest first). Default 100. */
  readonly maxCalls?: number;
  /** Failures kept apart (a flood of successes does not push them out). Default 50. */
  readonly maxFailures?: number;
  /** Workflow runs kept. Default 20. */
  readonly maxRuns?: number;
  /** Error texts as every dashboard viewer may see them (secrets and token-like runs removed). */
  readonly scrub: (text: string) => string;
  readonly windowMs?: number;
  readonly now?: () => number;
}

/** A fixed-size ring: push is O(1), newest first on read. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(size: number) {
    this.items = new Array<T | undefined>(Math.max(1, size));
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.items.length;
    if (this.count < this.items.length) this.count++;
  }

  newestFirst(): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.count; i++)
      out.push(this.items[(this.next - i + this.items.length) % this.items.length] as T);
    return out;
  }
}

/**
 * What the dashboard shows that the aggregator does not keep itself: the latest calls and failures,
 * per-server statistics over the last minutes, and workflow runs with their step traces. Fed by the
 * call feed (`record`) and the workflow host (`started`); everything is bounded.
 */
export class Activity implements WorkflowObserver {
  readonly window: CallWindow;
  private readonly calls: Ring<RecentCall>;
  private readonly failures: Ring<RecentCall>;
  private readonly runs: Ring<WorkflowRun>;
  private runSeq = 0;
  private readonly now: () => number;

  constructor(private readonly options: ActivityOptions) {
    this.window = new CallWindow(options.windowMs);
    this.calls = new Ring(options.maxCalls ?? 100);
    this.failures = new Ring(options.maxFailures ?? 50);
    this.runs = new Ring(options.maxRuns ?? 20);
    this.now = options.now ?? Date.now;
  }

  /** The call-feed listener. */
  readonly record = (event: CallEvent): void => {
    const at = event.at ?? this.now();
    const failed = event.outcome !== "ok" && event.outcome !== "cancelled";
    this.window.record(event.server, at, event.durationMs, failed);
    const ctx = event.ctx;
    const entry: RecentCall = {
      at,
      id: ctx?.requestId ?? "",
      tool: ctx?.route.publicName ?? event.tool,
      server: event.server,
      originalTool: event.tool,
      outcome: event.outcome,
      durationMs: event.durationMs,
      ...(event.principal !== undefined ? { principal: event.principal } : {}),
      ...(ctx?.sessionId !== undefined ? { session: ctx.sessionId } : {}),
      ...(event.error !== undefined ? { error: this.options.scrub(event.error) } : {}),
    };
    this.calls.push(entry);
    if (event.outcome !== "ok") this.failures.push(entry);
  };

  recentCalls(): RecentCall[] {
    return this.calls.newestFirst();
  }

  recentFailures(): RecentCall[] {
    return this.failures.newestFirst();
  }

  workflowRuns(): WorkflowRun[] {
    return this.runs.newestFirst();
  }

  /** A workflow run began: its steps are added as they finish. */
  started(name: string, origin: CallOrigin): WorkflowRunWatch {
    const run: WorkflowRun = {
      id: ++this.runSeq,
      name,
      startedAt: this.now(),
      ...(origin.principal !== undefined ? { principal: origin.principal } : {}),
      status: "running",
      steps: [],
    };
    this.runs.push(run);
    const scrub = this.options.scrub;
    const starts = new Map<string, number>();
    const shown = (t: StepTrace): WorkflowRun["steps"][number] => {
      const startMs = starts.get(t.id);
      return {
        ...t,
        ...(t.error !== undefined ? { error: scrub(t.error) } : {}),
        ...(startMs !== undefined ? { startMs } : {}),
      };
    };
    return {
      step: (t) => {
        if (t.status !== "skipped") starts.set(t.id, Math.max(0, this.now() - run.startedAt - t.durationMs));
        run.steps.push(shown(t));
      },
      finished: (result) => {
        run.durationMs = this.now() - run.startedAt;
        const outcome = result.structuredContent as
          { status?: WorkflowRun["status"]; trace?: StepTrace[]; failed?: WorkflowRun["failed"] } | undefined;
        run.status = outcome?.status ?? (result.isError === true ? "failed" : "ok");
        // The final trace is in definition order and has compensation results: it replaces the live one.
        if (Array.isArray(outcome?.trace)) {
          run.steps.length = 0;
          for (const t of outcome.trace) run.steps.push(shown(t));
        }
        if (outcome?.failed) run.failed = { step: outcome.failed.step, error: scrub(outcome.failed.error) };
        else if (result.isError === true && !outcome?.status) {
          const first = result.content?.[0];
          run.failed = {
            step: "workflow",
            error: scrub(first?.type === "text" ? first.text : "workflow failed"),
          };
        }
      },
    };
  }
}
