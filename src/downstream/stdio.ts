import { spawn, type ChildProcess } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/client";
import type { JSONRPCMessage } from "@modelcontextprotocol/client";
import { AggregatorError } from "../errorCore.js";
import { DEFAULT_MAX_JSON_DEPTH, parsedTooDeep, readableId } from "../jsonrpc/depth.js";
import {
  answerProblem,
  idFromEdges,
  invalidResult,
  rejectedAnswer,
  tooDeepResult,
  tooLarge,
  type Rejection,
} from "../jsonrpc/rejected.js";
import { serialize } from "../jsonrpc/serialize.js";
import { LineBuffer, parseMessage, type OversizeLine } from "../jsonrpc/lineBuffer.js";
import { processGroups, type ProcessGroups } from "./processGroups.js";
import { StderrLines } from "./stderrLines.js";
import { deliverInOrder } from "./ordering.js";
import { LineWriter } from "../jsonrpc/lineWriter.js";

export interface StdioSpawnOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment (already built from the base + the entry's env). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /**
   * Called with each whole line of the child's stderr (decoded, trailing space trimmed, blank lines
   * skipped; a line split across reads is joined first, an over-long one is cut: see StderrLines).
   */
  readonly onStderr?: ((line: string) => void) | undefined;
  /** Called for each stdout line that is not JSON-RPC (a misbehaving server); the line is dropped. */
  readonly onGarbage?: ((line: string, error: unknown) => void) | undefined;
  /** SIGTERM → SIGKILL grace in ms. */
  readonly killGraceMs?: number;
  /**
   * Largest single message accepted from the child (maxResultBytes). A larger one is not forwarded: its
   * request (id read from the line's edges) fails alone with a "too large" error; the link goes on.
   */
  readonly maxMessageBytes?: number;
  /** Where the child's process group is recorded while it may live (default: this process's registry). */
  readonly groups?: ProcessGroups;
  /**
   * Most bytes waiting for the child's stdin (our queue + the pipe's buffer) before a new request is refused
   * (SERVER_BUSY) instead of queued: a server that stops reading must not make us hold its input forever.
   * Notifications and answers are always queued. Undefined: no bound.
   */
  readonly maxWriteQueueBytes?: number | undefined;
  /** The server's name, for messages. */
  readonly name?: string | undefined;
  /** Deepest nesting accepted in a message from the child (maxJsonDepth); deeper ones fail the same way. */
  readonly maxJsonDepth?: number;
  /** Told about each message refused (too large, too deep): its request failed alone. */
  readonly onRefused?: ((reason: string, details: Record<string, unknown>) => void) | undefined;
  /** Told about each message dropped because handling it threw (a malformed notification, …). */
  readonly onDropped?: ((reason: string, details: Record<string, unknown>) => void) | undefined;
}

/** Default of maxResultBytes (config/defaults.ts holds the same value). */
export const DEFAULT_MAX_RESULT_BYTES = 8 * 1024 * 1024;

const IS_WINDOWS = process.platform === "win32";

/**
 * A client transport over a child's stdio, like the SDK's StdioClientTransport but with what an
 * aggregator needs: the child leads its own process group (so npx wrappers and grandchildren are
 * stopped with it), shutdown closes stdin and signals the group at once (servers that ignore EOF
 * would otherwise cost seconds), and a non-JSON stdout line is dropped instead of killing the link.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private readonly buffer: LineBuffer;
  private exited: Promise<void> | undefined;
  private closing = false;
  /** SIGKILLs the child's group and forgets it; set once spawned. */
  private stopGroup: (() => void) | undefined;

  constructor(private readonly options: StdioSpawnOptions) {
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.buffer = new LineBuffer(this.maxBytes);
  }

  private readonly maxBytes: number;
  private readonly maxDepth: number;

  /** Each stderr line, for whoever owns the connection now (set after a pre-spawn too). */
  onStderrLine?: ((line: string) => void) | undefined;

  /** The protocol version negotiated at initialize (the SDK Client tells its transport). */
  protocolVersion: string | undefined;

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Always null (we read the child's stderr ourselves, line by line). It is here because the v2 Client
   * recognises a stdio transport by `stderr` and `pid`: its `server/discover` probe then treats silence
   * or an exit as a legacy server (on HTTP those are outages). See downstream/verdicts.ts.
   */
  get stderr(): null {
    return null;
  }

  private started: Promise<void> | undefined;

  /** Spawns the server. Idempotent: a pre-spawned transport is started again by Client.connect(). */
  start(): Promise<void> {
    this.started ??= this.spawnChild();
    return this.started;
  }

  private spawnChild(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.command, [...this.options.args], {
        env: { ...this.options.env },
        cwd: this.options.cwd,
        stdio: ["pipe", "pipe", "pipe"],
        // Own process group on POSIX: kill(-pid) reaches the whole tree.
        detached: !IS_WINDOWS,
        windowsHide: true,
        // Windows: `npx`/`.cmd` shims need a shell to start (Node refuses to spawn .cmd directly).
        shell: IS_WINDOWS && /\.(cmd|bat)$|^npx$|^npm$/i.test(this.options.command),
      });
      this.child = child;
      const groups = this.options.groups ?? processGroups;
      const pgid = IS_WINDOWS ? undefined : child.pid;
      if (pgid !== undefined) groups.add(pgid);
      /** The group's last SIGKILL is sent: the watchdog may forget it (its pid may be reused later). */
      const groupStopped = (): void => {
        signalTree(child, "SIGKILL");
        if (pgid !== undefined) groups.remove(pgid);
      };
      this.stopGroup = groupStopped;
      let finished = false;
      let markExited: () => void = () => undefined;
      this.exited = new Promise((done) => (markExited = done));
      let fallback: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        if (fallback) clearTimeout(fallback);
        this.child = undefined;
        markExited();
        this.onclose?.();
      };
      child.once("error", (err) => {
        reject(err);
        this.onerror?.(err);
      });
      child.once("spawn", () => resolve());
      // "close" waits for every holder of the child's stdout; a grandchild that inherited it would keep
      // a crashed server looking alive. On "exit", stop the whole group, and stop waiting after a grace.
      child.once("exit", () => {
        const grace = this.options.killGraceMs ?? 2_000;
        if (!this.closing) {
          signalTree(child, "SIGTERM");
          setTimeout(groupStopped, grace).unref();
        }
        fallback = setTimeout(finish, grace + 500);
        fallback.unref();
      });
      child.once("close", finish);
      child.stdin?.on("error", (err) => {
        if (!this.closing) this.onerror?.(err);
      });
      child.stdout?.on("data", (chunk: Buffer) => this.onData(chunk));
      const lines = new StderrLines((line) => this.options.onStderr?.(line));
      child.stderr?.on("data", (chunk: Buffer) => lines.push(chunk));
      child.stderr?.once("end", () => lines.flush());
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer.push(chunk, this.onLine, this.onOversize);
  }

  /** One message from the child. Nothing it holds may end the link: a bad message fails alone. */
  private readonly onLine = (line: string): void => {
    const message = parseMessage(line);
    if (message instanceof Error) {
      this.options.onGarbage?.(line, message);
      return;
    }
    if (parsedTooDeep(message, line.length, this.maxDepth)) {
      this.refuse(readableId(message), "method" in message, tooDeepResult(this.maxDepth), {
        bytes: line.length,
      });
      return;
    }
    const problem = answerProblem(message);
    if (problem !== undefined) {
      this.refuse(readableId(message), false, invalidResult(problem, "answer"), { bytes: line.length });
      return;
    }
    this.deliver(message);
  };

  private readonly onOversize = (line: OversizeLine): void => {
    const id = idFromEdges(line.head, line.tail);
    const isRequest = /"method"\s*:/.test(line.head) && !/"result"\s*:/.test(line.head);
    this.refuse(id, isRequest, tooLarge(line.bytes, this.maxBytes), { bytes: line.bytes });
  };

  private deliver(message: JSONRPCMessage): void {
    try {
      deliverInOrder(message, (m) => this.onmessage?.(m));
    } catch (error) {
      // A handler choked on this message (a malformed notification, …): drop it, keep the link.
      this.options.onDropped?.("a malformed message from the server was dropped", {
        err: error instanceof Error ? error.message : String(error),
        method: "method" in message ? String(message.method).slice(0, 100) : undefined,
      });
    }
  }

  /**
   * A message we will not pass on. An answer to one of our requests becomes an error answer for that
   * request only; a request from the server is answered with an error; anything else is dropped.
   */
  private refuse(
    id: string | number | undefined,
    isRequest: boolean,
    rejection: Rejection,
    details: Record<string, unknown>,
  ): void {
    const detail = rejection.detail;
    this.options.onRefused?.(`refused a message from the server: ${detail}`, { ...details, id });
    if (id === undefined) return;
    if (isRequest) {
      this.send({
        jsonrpc: "2.0",
        id,
        error: { code: -32600, message: `Invalid Request: ${detail}` },
      } as JSONRPCMessage).catch(() => undefined);
      return;
    }
    this.deliver(rejectedAnswer(id, rejection));
  }

  private readonly writer = new LineWriter(() => this.child?.stdin ?? undefined);

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return Promise.reject(new Error("Not connected"));
    let line: string;
    try {
      line = `${serialize(message)}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    const full = this.inputFull(message, line);
    if (full) return Promise.reject(full);
    return this.writer.write(line);
  }

  /** SERVER_BUSY when a request would grow the server's unread input past maxWriteQueueBytes. */
  private inputFull(message: JSONRPCMessage, line: string): AggregatorError | undefined {
    const max = this.options.maxWriteQueueBytes;
    if (max === undefined || !("method" in message) || !("id" in message)) return undefined;
    const pending = this.writer.pendingBytes;
    if (pending === 0 || pending + line.length <= max) return undefined;
    const server = this.options.name ?? "the server";
    return new AggregatorError(
      "SERVER_BUSY",
      `${server} is not reading its input: ${pending} bytes already wait for its stdin (maxWriteQueueBytes ${max}); ${message.method} was not sent`,
      { details: { server, pendingBytes: pending, maxWriteQueueBytes: max, inputFull: true } },
    );
  }

  /** Close stdin, SIGTERM the group right away, SIGKILL after the grace period. Resolves when the child is gone. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.closing) {
      await this.exited;
      return;
    }
    this.closing = true;
    child.stdin?.end();
    signalTree(child, "SIGTERM");
    const grace = this.options.killGraceMs ?? 2_000;
    const timer = setTimeout(() => signalTree(child, "SIGKILL"), grace);
    timer.unref();
    await this.exited;
    clearTimeout(timer);
    // The leader is gone; make sure nothing it started outlives it.
    this.stopGroup?.();
  }
}

function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    // Windows has no process groups: taskkill /T stops the shell, npx and the server under it.
    if (IS_WINDOWS)
      spawn("taskkill", ["/pid", String(pid), "/T", ...(signal === "SIGKILL" ? ["/F"] : [])], {
        stdio: "ignore",
        windowsHide: true,
      }).on("error", () => child.kill(signal));
    else process.kill(-pid, signal);
  } catch {
    // Group already gone.
  }
}
