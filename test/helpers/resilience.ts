import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry, type FaultMode } from "./fault-server.js";
import {
  alive,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "./aggregator.js";

/**
 * Harness for the resilience integration tests: the built CLI over stdio in front of fault-server
 * children, each with its own FAULT_LOG_FILE (every request it received, with the receiving pid) and
 * FAULT_STATE_FILE (flaky counters, writes, starts; shared across restarts).
 */

export interface FaultSpec {
  readonly kind: "fault";
  readonly mode: FaultMode;
  readonly env: Record<string, string>;
  /** Other fields of the server entry (timeoutMs, retry, breaker, tools, ...). */
  readonly entry: Record<string, unknown>;
}

export function fault(
  entry: Record<string, unknown> = {},
  env: Record<string, string> = {},
  mode: FaultMode = "normal",
): FaultSpec {
  return { kind: "fault", mode, env, entry };
}

export interface FaultStats {
  calls: Record<string, number>;
  cancelled: unknown[];
  cancellations: { requestId: unknown; reason: unknown }[];
  aborted: unknown[];
  pid: number;
  starts: number;
  mode: string;
}

export interface FaultLogEntry {
  pid: number;
  t: number;
  method: string;
  id?: unknown;
  name?: string;
  requestId?: unknown;
}

export interface ServerStatus {
  name: string;
  state: string;
  breaker: string;
  breakerRetryAt?: string;
  tools: number;
  restarts: number;
  inFlight: number;
  queued: number;
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  lastError?: { message: string; at: string };
}

export interface StatusContent {
  servers: ServerStatus[];
  cache: {
    hits: number;
    misses: number;
    coalesced: number;
    invalidations: number;
    size: number;
    bytes: number;
    hitRate: number;
  };
  tools: number;
}

export function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

export interface Agg {
  readonly h: StdioHarness;
  readonly dir: string;
  /** tools/call through the aggregator; a JSON-RPC error is returned (not thrown) as an McpError. */
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: { onprogress?: (p: { progress: number }) => void; signal?: AbortSignal },
  ): Promise<CallToolResult | McpError>;
  /** Like call, but fails the test on a JSON-RPC error. */
  result(
    name: string,
    args?: Record<string, unknown>,
    options?: { onprogress?: (p: { progress: number }) => void },
  ): Promise<CallToolResult>;
  status(): Promise<StatusContent>;
  serverStatus(server: string): Promise<ServerStatus>;
  /** The fault server's `stats` tool, called through the aggregator. */
  stats(server: string): Promise<FaultStats>;
  /** Requests the fault server processes of `server` received (read from its FAULT_LOG_FILE). */
  log(server: string): FaultLogEntry[];
  /** tools/call requests for `tool` the fault server processes of `server` received. */
  received(server: string, tool: string): number;
  state(server: string): { flaky: Record<string, number>; writes: string[]; starts: number };
  /** Every process the aggregator has started so far (descendants) plus every fault-server pid ever logged. */
  processes(): number[];
  readonly pid: number;
  /** Asserts the aggregator is alive, closes it, and waits until no process it started is left. */
  close(): Promise<void>;
}

/**
 * True while `pid` runs. Unlike helpers/aggregator.ts `alive`, a zombie (dead, not yet reaped: common
 * for orphans in containers whose pid 1 does not reap) counts as gone.
 */
export function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return existsSync("/proc") ? false : true;
  }
}

/** Pids of every live descendant of `root` (Linux /proc; empty elsewhere). */
export function descendants(root: number): number[] {
  if (!existsSync("/proc")) return [];
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ... — comm may contain spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(entry), Number(rest[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    for (const [pid, ppid] of parent) {
      if (ppid === p && !out.includes(pid)) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}

export async function startAggregator(
  servers: Record<string, FaultSpec | Record<string, unknown> | ((dir: string) => Record<string, unknown>)>,
  options: { top?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<Agg> {
  const tmp: TempDir = await tempDir("amcp-res-");
  const dir = tmp.dir;
  const logFile = (server: string) => path.join(dir, `${server}.log.jsonl`);
  const stateFile = (server: string) => path.join(dir, `${server}.state.json`);
  const mcpServers: Record<string, unknown> = {};
  const faults: string[] = [];
  for (const [name, spec] of Object.entries(servers)) {
    if (typeof spec === "function") {
      mcpServers[name] = spec(dir);
    } else if ((spec as FaultSpec).kind === "fault") {
      const f = spec as FaultSpec;
      faults.push(name);
      mcpServers[name] = {
        ...faultServerEntry(f.mode, {
          FAULT_LOG_FILE: logFile(name),
          FAULT_STATE_FILE: stateFile(name),
          ...f.env,
        }),
        healthCheckIntervalMs: 0,
        ...f.entry,
      };
    } else {
      mcpServers[name] = spec;
    }
  }
  const config = await writeConfig(dir, { logLevel: "debug", ...(options.top ?? {}), mcpServers });
  const h = await startStdio(config, { env: options.env ?? {} });
  const pid = h.pid;
  if (pid === undefined) throw new Error("no aggregator pid");
  const seen = new Set<number>();

  const call: Agg["call"] = async (name, args = {}, opts = {}) => {
    try {
      return (await h.client.callTool({ name, arguments: args }, undefined, {
        ...(opts.onprogress ? { onprogress: opts.onprogress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeout: 60_000,
      })) as CallToolResult;
    } catch (error) {
      if (error instanceof McpError) return error;
      throw error;
    }
  };
  const result: Agg["result"] = async (name, args, opts) => {
    const r = await call(name, args, opts);
    if (r instanceof McpError) throw new Error(`${name} answered JSON-RPC error ${r.code}: ${r.message}`);
    return r;
  };
  const status = async (): Promise<StatusContent> =>
    (await result("status")).structuredContent as unknown as StatusContent;
  const log = (server: string): FaultLogEntry[] => {
    const file = logFile(server);
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as FaultLogEntry);
  };
  const processes = (): number[] => {
    for (const p of descendants(pid)) seen.add(p);
    for (const f of faults) for (const e of log(f)) seen.add(e.pid);
    return [...seen];
  };

  return {
    h,
    dir,
    pid,
    call,
    result,
    status,
    serverStatus: async (server) => {
      const s = (await status()).servers.find((x) => x.name === server);
      if (!s) throw new Error(`no status for ${server}`);
      return s;
    },
    stats: async (server) => JSON.parse(text(await result(`${server}_stats`))) as FaultStats,
    log,
    received: (server, tool) =>
      log(server).filter((e) => e.method === "tools/call" && e.name === tool).length,
    state: (server) => {
      const file = stateFile(server);
      return existsSync(file)
        ? (JSON.parse(readFileSync(file, "utf8")) as ReturnType<Agg["state"]>)
        : { flaky: {}, writes: [], starts: 0 };
    },
    processes,
    close: async () => {
      try {
        expect(alive(pid), `the aggregator crashed; stderr:\n${h.stderr().slice(-4000)}`).toBe(true);
        const pids = processes();
        expect(pids.length).toBeGreaterThanOrEqual(faults.length);
        await h.close();
        await waitFor(() => !running(pid) && pids.every((p) => !running(p)), 10_000).catch(() => {
          const left = [pid, ...pids].filter((p) => running(p));
          throw new Error(`processes left after closing the aggregator: ${left.join(", ")}`);
        });
      } finally {
        await tmp.cleanup();
      }
    },
  };
}

export function expectToolError(r: CallToolResult | McpError, ...patterns: (string | RegExp)[]): string {
  expect(
    r,
    `expected an isError result, got ${r instanceof McpError ? `JSON-RPC error ${r.code}: ${r.message}` : JSON.stringify(r).slice(0, 300)}`,
  ).not.toBeInstanceOf(McpError);
  const res = r as CallToolResult;
  expect(res.isError, `expected isError, got ${JSON.stringify(res).slice(0, 300)}`).toBe(true);
  const t = text(res);
  for (const p of patterns) expect(t).toMatch(p);
  return t;
}

export function expectOk(r: CallToolResult | McpError): string {
  expect(r, r instanceof McpError ? `JSON-RPC error ${r.code}: ${r.message}` : "").not.toBeInstanceOf(
    McpError,
  );
  const res = r as CallToolResult;
  expect(res.isError ?? false, `unexpected isError: ${text(res)}`).toBe(false);
  return text(res);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
