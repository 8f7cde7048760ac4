import { pino } from "pino";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError } from "../../src/errors.js";
import type { Logger } from "../../src/logger.js";
import { createCallContext } from "../../src/pipeline/context.js";
import type { CallContext, Handler, ToolRoute } from "../../src/pipeline/types.js";

export interface RouteOptions {
  readonly server?: string;
  readonly tool?: string;
  readonly publicName?: string;
  readonly readOnly?: boolean;
  readonly idempotent?: boolean;
  readonly destructive?: boolean;
  readonly cacheTtlMs?: number;
  readonly timeoutMs?: number;
  readonly totalTimeoutMs?: number;
  readonly inputSchema?: Record<string, unknown>;
}

/** A route as the catalog would resolve it (policy derived like catalog/policy.ts). */
export function makeRoute(options: RouteOptions = {}): ToolRoute {
  const readOnly = options.readOnly ?? false;
  const idempotent = readOnly || (options.idempotent ?? false);
  const server = options.server ?? "srv";
  const tool = options.tool ?? "tool";
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    publicName: options.publicName ?? `${server}_${tool}`,
    server,
    originalName: tool,
    inputSchema: options.inputSchema ?? { type: "object" },
    policy: {
      hints: { readOnly, idempotent, destructive: options.destructive ?? !readOnly },
      retrySafe: readOnly || idempotent,
      timeoutMs,
      totalTimeoutMs: options.totalTimeoutMs ?? timeoutMs,
      cacheTtlMs: readOnly ? (options.cacheTtlMs ?? 0) : 0,
    },
  };
}

export const silentLogger: Logger = pino({ level: "silent" });

let nextId = 0;

/** A context as the front would hand it to the pipeline: no deadline unless given. */
export function makeCtx(
  route: ToolRoute,
  args: Record<string, unknown> = {},
  signal: AbortSignal = new AbortController().signal,
  overrides: Partial<Pick<CallContext, "deadlineAt" | "log">> = {},
): CallContext {
  const ctx = createCallContext({
    requestId: `t${++nextId}`,
    route,
    args,
    signal,
    log: overrides.log ?? silentLogger,
  });
  ctx.deadlineAt = overrides.deadlineAt ?? Number.POSITIVE_INFINITY;
  return ctx;
}

export function textResult(text: string, isError = false): CallToolResult {
  return isError
    ? { isError: true, content: [{ type: "text", text }] }
    : { content: [{ type: "text", text }] };
}

export function unavailable(server = "srv"): AggregatorError {
  return new AggregatorError("SERVER_UNAVAILABLE", `${server}: connection closed`, {
    details: { server, reason: "closed" },
  });
}

export function timedOut(server = "srv", tool = "tool"): AggregatorError {
  return new AggregatorError("DOWNSTREAM_TIMEOUT", `${server}: ${tool} timed out after 100 ms`, {
    details: { server, tool, timeoutMs: 100 },
  });
}

/** A fake last handler driven by a script of outcomes (an Error is thrown, a result returned); the last entry repeats. */
export function scripted(outcomes: ReadonlyArray<CallToolResult | Error>): Handler & { calls: number } {
  const fake = async function fakeForward(): Promise<CallToolResult> {
    const outcome = outcomes[Math.min(fake.calls, outcomes.length - 1)];
    fake.calls++;
    if (outcome instanceof Error) throw outcome;
    return outcome ?? textResult("ok");
  } as unknown as Handler & { calls: number };
  fake.calls = 0;
  return fake;
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run (also under fake timers). */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
