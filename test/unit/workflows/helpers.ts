import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CompiledWorkflow, StepInvoker } from "../../../src/workflows/index.js";
import { validateWorkflows } from "../../../src/workflows/index.js";

/** Compiles workflow definitions, failing the test on any problem. */
export function compileAll(defs: Record<string, unknown>): Map<string, CompiledWorkflow> {
  const { ok, problems } = validateWorkflows(defs, { knownTool: () => true });
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return new Map(ok.map((w) => [w.name, w]));
}

export function compileOne(def: Record<string, unknown>, name = "wf"): CompiledWorkflow {
  const wf = compileAll({ [name]: def }).get(name);
  if (!wf) throw new Error("not compiled");
  return wf;
}

export const json = (value: unknown): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(value) }],
});
export const failure = (text: string): CallToolResult => ({
  content: [{ type: "text", text }],
  isError: true,
});

export interface Call {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly signal: AbortSignal;
  resolve(result: CallToolResult): void;
  reject(error: unknown): void;
}

type Handler = (
  args: Record<string, unknown>,
  call: Call,
) => CallToolResult | Promise<CallToolResult> | "hold";

/**
 * A fake router: each tool answers through its handler; "hold" (or no handler with `holdAll`) leaves the call
 * pending in `held` for the test to settle. Tracks calls in order and the most calls in flight at once.
 */
export class FakeInvoker implements StepInvoker {
  readonly calls: Call[] = [];
  readonly held: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly handlers: Record<string, Handler> = {},
    private readonly holdAll = false,
  ) {}

  call(tool: string, args: Record<string, unknown>, opts: { signal: AbortSignal }): Promise<CallToolResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const promise = new Promise<CallToolResult>((resolve, reject) => {
      const call: Call = { tool, args, signal: opts.signal, resolve, reject };
      this.calls.push(call);
      opts.signal.addEventListener("abort", () => reject(opts.signal.reason as Error), { once: true });
      const handler = this.handlers[tool];
      if (!handler) {
        if (this.holdAll) this.held.push(call);
        else resolve(json({ tool, args }));
        return;
      }
      Promise.resolve()
        .then(() => handler(args, call))
        .then((r) => (r === "hold" ? this.held.push(call) : resolve(r)))
        .catch(reject);
    });
    return promise.finally(() => this.inFlight--);
  }

  tools(): string[] {
    return this.calls.map((c) => c.tool);
  }

  /** Resolves the held call for `tool` (first one). */
  release(tool: string, result: CallToolResult = json({ tool })): void {
    const i = this.held.findIndex((c) => c.tool === tool);
    const [call] = this.held.splice(i, 1);
    if (i < 0 || !call) throw new Error(`no held call for ${tool}`);
    call.resolve(result);
  }
}
