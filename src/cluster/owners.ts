import { randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { AggregatorError } from "../errors.js";
import { clusterUnavailable } from "./connection.js";
import type { Logger } from "../logger.js";
import type { ClusterChannels } from "./channels.js";

/**
 * Acquires, renews or reads a server's owner lease in one round trip. KEYS: the lease, the fencing
 * counter; ARGV: this replica, the TTL (ms). Returns the lease's value, "<replica>|<token>": the owner
 * renews its own lease; a free lease is taken with the next token (INCR), so every new owner has a higher
 * token than all before it.
 */
const LEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return cur
end
local v = ARGV[1] .. '|' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v`;

/** What a forwarded call carries (channel `calls:<owner>`). */
interface CallWire {
  readonly id: string;
  readonly from: string;
  readonly server: string;
  readonly token: number;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly meta?: Record<string, unknown> | undefined;
  /** The caller's HTTP principal: the owner's pipeline scopes idempotency keys and limits by it. */
  readonly principal?: string | undefined;
  readonly timeoutMs: number;
  /** Set on a cancellation of call `id` instead. */
  readonly cancel?: true;
}

/** What comes back (channel `replies:<caller>`). */
interface ReplyWire {
  readonly id: string;
  readonly result?: CallToolResult;
  /** The receiver does not (any more) hold the lease with the call's token: ask again. */
  readonly notOwner?: true;
}

interface Lease {
  owner: string;
  token: number;
  /** Mine only: until when calls may run here (renewed each tick; a third of the TTL kept as margin). */
  validUntil: number;
}

interface Pending {
  readonly owner: string;
  readonly token: number;
  readonly server: string;
  settle(reply: ReplyWire | Error): void;
}

export interface OwnerLeaseOptions {
  /** The lease's time to live (ms): a dead owner's calls move to another replica this long after it died. */
  readonly ttlMs: number;
  /** The stateful servers (serializeWrites): their writes run on one replica at a time. */
  readonly servers: () => readonly string[];
  /** Runs a call here on behalf of another replica (the aggregator's own tools/call path, never forwarded). */
  readonly run: (
    name: string,
    args: Record<string, unknown>,
    meta: Record<string, unknown> | undefined,
    signal: AbortSignal,
    principal: string | undefined,
  ) => Promise<CallToolResult>;
  /** How long a call to `server` may take (its timeoutMs): a forwarded call waits this plus one TTL. */
  readonly timeoutOf: (server: string) => number;
}

/**
 * One owner replica per stateful server (docs/adr/0023-sessions-across-replicas.md): a Redis lease
 * (`owner:<server>` = "<replica>|<fencing token>", TTL `ttlMs`) taken with SET-if-absent and an INCR'd
 * token, renewed every third of the TTL. The owner runs the server's writes; every other replica forwards
 * them over pub/sub (`calls:<owner>`), carrying the token it saw, and the owner refuses a token that is not
 * its current one. A call forwarded to an owner that dies fails clearly once the lease moves (or its
 * deadline passes); a call made while the owner is gone waits for the next owner (at most a TTL) and runs
 * there. An owner that cannot renew stops running calls before its lease can have expired.
 */
export class OwnerLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private readonly me: string;

  private constructor(
    private readonly channels: ClusterChannels,
    private readonly log: Logger,
    private readonly options: OwnerLeaseOptions,
  ) {
    this.me = channels.link.replicaId;
  }

  static async create(
    channels: ClusterChannels,
    log: Logger,
    options: OwnerLeaseOptions,
  ): Promise<OwnerLeases> {
    const leases = new OwnerLeases(channels, log, options);
    const link = channels.link;
    channels.on(link.key("calls", leases.me), (p) => {
      if (isCall(p))
        leases.serve(p).catch((e: unknown) => log.warn({ err: String(e) }, "cluster: forwarded call failed"));
    });
    channels.on(link.key("replies", leases.me), (p) => {
      if (typeof p === "object" && p !== null) leases.replied(p as ReplyWire);
    });
    leases.timer = setInterval(() => void leases.tickAll(), Math.max(100, Math.floor(options.ttlMs / 3)));
    leases.timer.unref();
    await leases.tickAll();
    return leases;
  }

  /** The replica holding `server`'s lease as last seen (undefined: not known yet). */
  ownerOf(server: string): string | undefined {
    return this.leases.get(server)?.owner;
  }

  /** Whether a write to `server` runs here now. */
  ownsNow(server: string): boolean {
    const lease = this.leases.get(server);
    return lease?.owner === this.me && Date.now() < lease.validUntil;
  }

  /**
   * A write to a stateful server: undefined when it runs here (this replica owns the lease), else its
   * result from the owner. Rejects with OWNER_UNAVAILABLE when no owner answered within the call's time.
   */
  async forward(
    server: string,
    name: string,
    args: Record<string, unknown>,
    meta: Record<string, unknown> | undefined,
    signal: AbortSignal,
    principal?: string,
  ): Promise<CallToolResult | undefined> {
    const timeoutMs = this.options.timeoutOf(server);
    const deadline = Date.now() + timeoutMs + this.options.ttlMs;
    for (let attempt = 0; ; attempt++) {
      if (!this.leases.has(server) || attempt > 0)
        await this.tick(server).catch((error: unknown) => {
          throw clusterUnavailable(`the owner lease of ${server}`, error);
        });
      if (this.ownsNow(server)) return undefined;
      const lease = this.leases.get(server);
      if (!lease) throw unavailable(server, "the owner lease could not be read");
      const reply = await this.send(
        lease,
        server,
        { name, args, meta, principal, timeoutMs },
        deadline,
        signal,
      );
      if (reply.result) return reply.result;
      // Not heard (the owner is gone) or not the owner any more: wait for the lease to move, then again.
      if (Date.now() + this.options.ttlMs / 3 > deadline)
        throw unavailable(
          server,
          `its owner replica ${lease.owner} did not answer and no other took over in time`,
        );
      await pause(Math.floor(this.options.ttlMs / 3), signal);
    }
  }

  private async send(
    lease: Lease,
    server: string,
    call: Pick<CallWire, "name" | "args" | "meta" | "principal" | "timeoutMs">,
    deadline: number,
    signal: AbortSignal,
  ): Promise<ReplyWire> {
    const id = randomUUID();
    const wire: CallWire = { id, from: this.me, server, token: lease.token, ...call };
    return await new Promise<ReplyWire>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(unavailable(server, `its owner replica ${lease.owner} did not answer in time`)),
        Math.max(0, deadline - Date.now()),
      );
      const aborted = (): void => {
        this.channels.send(this.channels.link.key("calls", lease.owner), { ...wire, cancel: true });
        settle(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
      };
      const settle = (reply: ReplyWire | Error): void => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        signal.removeEventListener("abort", aborted);
        if (reply instanceof Error) reject(reply);
        else resolve(reply);
      };
      this.pending.set(id, { owner: lease.owner, token: lease.token, server, settle });
      signal.addEventListener("abort", aborted, { once: true });
      this.channels
        .publish(this.channels.link.key("calls", lease.owner), wire)
        .then((heard) => {
          if (heard === 0) settle({ id }); // nobody subscribed there: the owner is gone
        })
        .catch((error: unknown) => settle(unavailable(server, "Redis is unreachable", error)));
    });
  }

  /** A call forwarded here: run if this replica still holds the lease with the caller's token. */
  private async serve(call: CallWire): Promise<void> {
    if (call.cancel) return this.running.get(call.id)?.abort(new Error("cancelled by the calling replica"));
    const reply = this.channels.link.key("replies", call.from);
    const lease = this.leases.get(call.server);
    if (!this.ownsNow(call.server) || lease?.token !== call.token)
      return this.channels.send(reply, { id: call.id, notOwner: true } satisfies ReplyWire);
    const controller = new AbortController();
    this.running.set(call.id, controller);
    const timer = setTimeout(() => controller.abort(new Error("deadline")), call.timeoutMs + 1_000);
    try {
      const result = await this.options.run(
        call.name,
        call.args,
        call.meta,
        controller.signal,
        call.principal,
      );
      this.channels.send(reply, { id: call.id, result } satisfies ReplyWire);
    } catch (error) {
      const text = `Error: ${error instanceof Error ? error.message : String(error)}`;
      const result: CallToolResult = { content: [{ type: "text", text }], isError: true };
      this.channels.send(reply, { id: call.id, result } satisfies ReplyWire);
    } finally {
      clearTimeout(timer);
      this.running.delete(call.id);
    }
  }

  private replied(reply: ReplyWire): void {
    if (typeof reply.id === "string") this.pending.get(reply.id)?.settle(reply);
  }

  private async tickAll(): Promise<void> {
    await Promise.all(this.options.servers().map((s) => this.tick(s).catch(() => undefined)));
  }

  /** Takes, renews or reads `server`'s lease; fails the calls forwarded to an owner that lost it. */
  private async tick(server: string): Promise<void> {
    const link = this.channels.link;
    const sentAt = Date.now();
    let value: string;
    try {
      value = (await link.redis.eval(
        LEASE_SCRIPT,
        2,
        link.key("owner", server),
        link.key("owner-token", server),
        this.me,
        String(this.options.ttlMs),
      )) as string;
    } catch (error) {
      this.log.warn({ server, err: String(error) }, "cluster: owner lease not renewed (redis unreachable)");
      throw error;
    }
    const bar = value.lastIndexOf("|");
    const lease: Lease = {
      owner: value.slice(0, bar),
      token: Number(value.slice(bar + 1)),
      validUntil: sentAt + Math.floor((this.options.ttlMs * 2) / 3),
    };
    const before = this.leases.get(server);
    this.leases.set(server, lease);
    if (before?.owner !== lease.owner || before.token !== lease.token) {
      this.log.info(
        { server, owner: lease.owner, token: lease.token, mine: lease.owner === this.me },
        "owner lease",
      );
      for (const p of this.pending.values())
        if (p.server === server && (p.owner !== lease.owner || p.token !== lease.token))
          p.settle(
            unavailable(
              server,
              `its owner replica ${p.owner} lost the lease while running the call (it died or lost Redis); the call may or may not have been applied`,
            ),
          );
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.running.values()) c.abort(new Error("autonomous-mcp is shutting down"));
    for (const p of this.pending.values()) p.settle(new Error("autonomous-mcp is shutting down"));
  }
}

function unavailable(server: string, why: string, cause?: unknown): AggregatorError {
  return new AggregatorError(
    "OWNER_UNAVAILABLE",
    `${server}: writes run on one replica and ${why}; try again`,
    {
      ...(cause === undefined ? {} : { cause }),
      details: { server },
    },
  );
}

/** A forwarded call as sent by OwnerLeases.send (anything else on the channel is dropped). */
function isCall(p: unknown): p is CallWire {
  if (typeof p !== "object" || p === null) return false;
  const c = p as Record<string, unknown>;
  return (
    typeof c["id"] === "string" &&
    typeof c["from"] === "string" &&
    typeof c["server"] === "string" &&
    typeof c["token"] === "number" &&
    typeof c["name"] === "string" &&
    typeof c["args"] === "object" &&
    c["args"] !== null &&
    (c["principal"] === undefined || typeof c["principal"] === "string") &&
    typeof c["timeoutMs"] === "number"
  );
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted(): void {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
    }
    signal.addEventListener("abort", aborted, { once: true });
  });
}
