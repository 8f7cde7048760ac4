import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLI, writeConfig } from "./aggregator.js";

/** Absolute path of the raw-JSON-RPC hostile server fixture. */
export const hostileServerPath: string = fileURLToPath(
  new URL("../fixtures/hostile-server.mjs", import.meta.url),
);

/**
 * A config with the hostile server as "h" (maxResultBytes 2 MiB, so size tests stay quick) and as "d"
 * (default maxResultBytes, 10 properties in huge_schema). Retries are quick; the breaker is the default
 * (5 calls, 50 %).
 */
export function hostileConfig(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  return writeConfig(dir, {
    mcpServers: {
      h: { command: process.execPath, args: [hostileServerPath], maxResultBytes: 2_097_152 },
      d: { command: process.execPath, args: [hostileServerPath], env: { HUGE_PROPS: "10" } },
    },
    defaults: { retry: { minTimeoutMs: 10, maxTimeoutMs: 20 }, healthCheckIntervalMs: 0 },
    ...extra,
  });
}

export type Message = Record<string, unknown> & { id?: unknown };

/** The built CLI over stdio, driven with raw JSON-RPC lines. */
export class RawStdio {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: Message[] = [];
  private out = "";
  private err = "";
  private seq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(configPath: string) {
    this.child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" },
    });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.out += chunk;
      let nl;
      while ((nl = this.out.indexOf("\n")) !== -1) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        if (line.trim()) this.messages.push(JSON.parse(line) as Message);
      }
      for (const wake of [...this.waiters]) wake();
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (c: string) => (this.err += c));
    this.child.on("exit", () => {
      for (const wake of [...this.waiters]) wake();
    });
  }

  get stderr(): string {
    return this.err;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  writeLine(text: string): void {
    this.child.stdin.write(`${text}\n`);
  }

  send(message: unknown): void {
    this.writeLine(JSON.stringify(message));
  }

  /** Every answer with this id so far. */
  answersFor(id: unknown): Message[] {
    const key = JSON.stringify(id);
    return this.messages.filter((m) => "id" in m && JSON.stringify(m.id) === key && !("method" in m));
  }

  /** Waits for the first answer with this id (fails when the process exits or after the deadline). */
  async answer(id: unknown, timeoutMs = 15_000): Promise<Message> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.answersFor(id)[0];
      if (found) return found;
      if (!this.alive)
        throw new Error(`the aggregator exited (${this.child.exitCode}); stderr:\n${this.err}`);
      const left = until - Date.now();
      if (left <= 0)
        throw new Error(`no answer for id ${JSON.stringify(id)}; stderr:\n${this.err.slice(-3000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  async request(method: string, params?: unknown): Promise<Message> {
    const id = `r${++this.seq}`;
    this.send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
    return this.answer(id);
  }

  /** tools/call; resolves with the result (throws on a JSON-RPC error). */
  async call(name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
    const m = await this.request("tools/call", { name, arguments: args });
    if (!("result" in m)) throw new Error(`JSON-RPC error: ${JSON.stringify(m["error"])}`);
    return m["result"] as CallResult;
  }

  async initialize(): Promise<void> {
    await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    });
    this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.end();
    this.child.kill("SIGTERM");
    await exited;
  }
}

export interface CallResult {
  readonly isError?: boolean;
  readonly content: readonly { type: string; text?: string }[];
}

export function textOf(result: CallResult): string {
  return result.content.map((c) => c.text ?? "").join("\n");
}

/** A raw Streamable HTTP session against the built CLI's HTTP front. */
export class RawHttp {
  private seq = 0;
  private constructor(
    readonly url: string,
    readonly sessionId: string,
  ) {}

  static async open(url: string): Promise<RawHttp> {
    const res = await fetch(url, {
      method: "POST",
      headers: HEADERS,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    });
    await res.text();
    const sessionId = res.headers.get("mcp-session-id");
    if (!sessionId) throw new Error(`no session id (status ${res.status})`);
    const http = new RawHttp(url, sessionId);
    await http.post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    return http;
  }

  /**
   * POSTs a raw body; returns the status and the JSON-RPC messages of the answer (JSON or SSE). The SDK
   * transport keeps a POST's event stream open until every request in it was answered, so a request that
   * gets no answer would hang the caller: past `deadlineMs` this fails naming the body instead.
   */
  async post(body: string, deadlineMs = 20_000): Promise<{ status: number; messages: Message[] }> {
    const signal = AbortSignal.timeout(deadlineMs);
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { ...HEADERS, "mcp-session-id": this.sessionId, "mcp-protocol-version": "2025-06-18" },
        body,
        signal,
      });
      const text = await res.text();
      return { status: res.status, messages: parseAnswer(text, res.headers.get("content-type") ?? "") };
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new Error(
        `no complete answer within ${deadlineMs} ms (its event stream stayed open): ${body.slice(0, 300)}`,
      );
    }
  }

  async call(name: string, args: Record<string, unknown> = {}): Promise<CallResult> {
    const id = `h${++this.seq}`;
    const { messages } = await this.post(
      JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }),
    );
    const m = messages.find((x) => x.id === id);
    if (!m || !("result" in m)) throw new Error(`no result: ${JSON.stringify(messages).slice(0, 500)}`);
    return m["result"] as CallResult;
  }
}

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

function parseAnswer(text: string, type: string): Message[] {
  if (text.trim() === "") return [];
  if (type.includes("text/event-stream")) {
    return text
      .split("\n")
      .filter((l) => l.startsWith("data:") && l.slice(5).trim() !== "")
      .map((l) => JSON.parse(l.slice(5)) as Message);
  }
  const value: unknown = JSON.parse(text);
  return (Array.isArray(value) ? value : [value]) as Message[];
}

/** `[[[…]]]` nested `depth` deep, as JSON text (JSON.stringify cannot write it). */
export function deepArrayText(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

export const FIXTURE_DIR = path.dirname(hostileServerPath);
