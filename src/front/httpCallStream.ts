import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Events kept per live stream for a client that resumes with Last-Event-ID (the event store's default). */
const MAX_REPLAY = 1_000;

export interface StreamHost {
  readonly sessionId: () => string | undefined;
  readonly store: EventStore;
  readonly retryInterval: number;
  readonly keepAliveMs: number;
  /** How long a call whose SSE stream lost its client waits for a resume before it is cancelled. */
  readonly resumeGraceMs: number;
  /** Streams still waiting to answer in JSON, and how they are watched for `sseAfterMs`. */
  readonly pending: Set<CallStream>;
  readonly watch: (stream: CallStream) => void;
  /** SSE streams of running calls, by stream id: a client may resume them with Last-Event-ID. */
  readonly resumable: Map<string, CallStream>;
  /** SSE streams with a connection, ended when the session closes. */
  readonly open: Set<CallStream>;
}

const PENDING = 0;
const SSE = 1;
const DONE = 2;

/**
 * The answer to one fast-path POST: JSON while nothing but the result goes out, else an SSE stream
 * written as the SDK's transport writes it. Writes are queued so events keep their order and ids.
 */
export class CallStream {
  private state: typeof PENDING | typeof SSE | typeof DONE = PENDING;
  private tail: Promise<void> | undefined;
  private streamId: string | undefined;
  /** What went out on the stream, for a client that resumes (SSE only). */
  private events: (readonly [id: string, frame: string])[] | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private res: ServerResponse | undefined;
  readonly born = Date.now();
  /**
   * Called once the answer can no longer be delivered: the client closed the POST before anything was
   * sent (it holds no event id to come back with), or closed the SSE stream and did not resume it within
   * `resumeGraceMs`. The call's owner cancels the call.
   */
  onAbandoned: ((reason: string) => void) | undefined;

  constructor(
    private readonly host: StreamHost,
    res: ServerResponse,
    private readonly protocolVersion: string,
  ) {
    this.res = res;
    host.watch(this);
    res.once("close", () => {
      if (this.state !== PENDING || this.res !== res) return;
      // Closed before anything was written: nobody can receive the answer.
      this.unwatch();
      this.state = DONE;
      this.res = undefined;
      this.onAbandoned?.("the client closed its HTTP request before the answer");
    });
  }

  /** Still running after sseAfterMs: answer as the SDK does (SSE, priming event, keep-alives). */
  timeUp(): void {
    this.unwatch();
    void this.enqueue(() => this.startSse());
  }

  get connected(): boolean {
    return this.res !== undefined;
  }

  /** A message before the result (progress, a server→client request): the answer becomes SSE. */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.state === DONE) return Promise.resolve();
    return this.enqueue(() => this.emit(message));
  }

  /** The result: plain JSON when nothing went out before it, else the stream's last event. */
  finish(reply: JSONRPCMessage): void {
    this.unwatch();
    if (this.state === PENDING && this.tail === undefined) return this.json(reply);
    void this.enqueue(async () => {
      await this.emit(reply);
      this.end();
    });
  }

  /**
   * The call was cancelled: no result. Nothing sent yet: an empty event stream (the client holds no
   * event id to come back with). Already SSE: left open, as the SDK leaves a cancelled call's stream.
   */
  abandon(): void {
    this.unwatch();
    void this.enqueue(() => {
      if (this.state === PENDING) this.endEmpty();
      else this.forget();
    });
  }

  /** The session is closing. */
  close(): void {
    this.unwatch();
    if (this.state === PENDING) return this.endEmpty();
    this.end();
  }

  /** A client came back with Last-Event-ID: replay what followed it, then continue on this response. */
  resume(res: ServerResponse, lastEventId: string): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.attach(res);
    const events = this.events ?? [];
    const at = events.findIndex(([id]) => id === lastEventId);
    if (at >= 0) for (const [, frame] of events.slice(at + 1)) res.write(frame);
  }

  private enqueue(work: () => Promise<void> | void): Promise<void> {
    const next = (this.tail ?? Promise.resolve()).then(work).catch(() => undefined);
    this.tail = next;
    return next;
  }

  private async startSse(): Promise<void> {
    if (this.state !== PENDING) return;
    this.unwatch();
    const res = this.res;
    if (!res || gone(res)) {
      // The client left before anything was sent: it has no event id to resume with.
      this.state = DONE;
      this.res = undefined;
      return;
    }
    this.state = SSE;
    const streamId = (this.streamId = randomUUID());
    this.host.resumable.set(streamId, this);
    this.attach(res);
    // The SDK's priming event: only for clients that handle empty SSE data (protocol ≥ 2025-11-25).
    if (this.protocolVersion >= "2025-11-25") {
      const id = await this.host.store.storeEvent(streamId, {} as JSONRPCMessage);
      this.record(id, `id: ${id}\nretry: ${this.host.retryInterval}\ndata: \n\n`);
    } else res.flushHeaders();
  }

  private async emit(message: JSONRPCMessage): Promise<void> {
    if (this.state === PENDING) await this.startSse();
    if (this.state !== SSE || this.streamId === undefined) return;
    const id = await this.host.store.storeEvent(this.streamId, message);
    this.record(id, `event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** Stored for a resume while the call runs; written if a client is connected. */
  private record(id: string, frame: string): void {
    const events = (this.events ??= []);
    events.push([id, frame]);
    if (events.length > MAX_REPLAY) events.shift();
    this.res?.write(frame);
  }

  private attach(res: ServerResponse): void {
    this.res = res;
    this.host.open.add(this);
    const sessionId = this.host.sessionId();
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...(sessionId === undefined ? {} : { "mcp-session-id": sessionId }),
    });
    // The client went away: the call goes on and its events stay resumable for resumeGraceMs; a client
    // that has not come back by then has abandoned the call.
    res.on("close", () => {
      if (this.res !== res) return;
      this.detach();
      if (this.state === SSE && this.graceTimer === undefined) {
        this.graceTimer = setTimeout(() => {
          this.graceTimer = undefined;
          if (this.state === SSE && this.res === undefined)
            this.onAbandoned?.(
              `the client closed the call's event stream and did not resume it within ${this.host.resumeGraceMs} ms`,
            );
        }, this.host.resumeGraceMs);
        this.graceTimer.unref();
      }
    });
    this.keepAlive = setInterval(() => this.res?.write(": keepalive\n\n"), this.host.keepAliveMs);
    this.keepAlive.unref();
  }

  private detach(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.res = undefined;
    this.host.open.delete(this);
  }

  private forget(): void {
    this.state = DONE;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.streamId !== undefined && this.host.resumable.get(this.streamId) === this)
      this.host.resumable.delete(this.streamId);
  }

  private end(): void {
    this.forget();
    const res = this.res;
    this.detach();
    res?.end();
  }

  private json(reply: JSONRPCMessage): void {
    this.state = DONE;
    const res = this.res;
    this.res = undefined;
    if (!res || gone(res)) return;
    const body = JSON.stringify(reply);
    const sessionId = this.host.sessionId();
    // One flat header list (no object to build and walk); Content-Length, so no chunked framing.
    res.writeHead(
      200,
      sessionId === undefined
        ? ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))]
        : [
            "content-type",
            "application/json",
            "content-length",
            String(Buffer.byteLength(body)),
            "mcp-session-id",
            sessionId,
          ],
    );
    res.end(body);
  }

  private endEmpty(): void {
    this.state = DONE;
    const res = this.res;
    this.res = undefined;
    if (!res || gone(res)) return;
    const sessionId = this.host.sessionId();
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      ...(sessionId === undefined ? {} : { "mcp-session-id": sessionId }),
    });
    res.end();
  }

  private unwatch(): void {
    this.host.pending.delete(this);
  }
}

function gone(res: ServerResponse): boolean {
  return res.writableEnded || res.destroyed || res.headersSent || (res.socket?.destroyed ?? false);
}

/**
 * The shared part of a session's call streams. Streams still answering in JSON are watched by one sweep
 * per session rather than a timer per call (a timer per call cost ~5 % of the front's CPU per call); the
 * sweep stops when it finds none, so a long call switches to SSE between sseAfterMs and 1.5 × sseAfterMs.
 */
export function streamHost(init: {
  readonly sessionId: () => string | undefined;
  readonly store: EventStore;
  readonly retryInterval: number;
  readonly keepAliveMs: number;
  readonly sseAfterMs: number;
  readonly resumeGraceMs: number;
}): StreamHost {
  const { sseAfterMs } = init;
  const pending = new Set<CallStream>();
  let sweep: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const due = Date.now() - sseAfterMs;
    for (const stream of pending) if (stream.born <= due) stream.timeUp();
    if (pending.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
    }
  };
  return {
    sessionId: init.sessionId,
    store: init.store,
    retryInterval: init.retryInterval,
    keepAliveMs: init.keepAliveMs,
    resumeGraceMs: init.resumeGraceMs,
    resumable: new Map(),
    open: new Set(),
    pending,
    watch: (stream) => {
      if (sseAfterMs <= 0) return;
      pending.add(stream);
      if (!sweep) {
        sweep = setInterval(tick, Math.max(1, sseAfterMs / 2));
        sweep.unref();
      }
    },
  };
}
