import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";
import type { SealedSession, SessionEndpoint, SessionPeers, SessionSharing } from "../front/sharing.js";
import type { ClusterChannels } from "./channels.js";

/** How long a sealed session id is honoured after its initialize (and how long a DELETE is remembered). */
export const SESSION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const ID_PREFIX = "s1.";
const AAD = Buffer.from("autonomous-mcp session id v1");

interface Wire {
  /** What: a client's answer, its cancellation, a session-wide message, a DELETE. */
  readonly k: "reply" | "cancelled" | "push" | "deleted";
  /** The session id. */
  readonly s: string;
  /** The sending replica (its own messages come back to it: ignored). */
  readonly from: string;
  /** For a reply: the replica waiting for it. */
  readonly to?: string;
  readonly m?: JSONRPCMessage;
}

/**
 * Legacy (2025-era) HTTP sessions across replicas (docs/adr/0023-sessions-across-replicas.md):
 * - the session id is the client's initialize params and principal, sealed with AES-256-GCM under a key
 *   every replica derives from one secret kept in Redis (SET NX at first start): any replica opens it and
 *   rebuilds the session (src/front/httpSession.ts, replay); ids older than SESSION_MAX_AGE_MS are refused;
 * - a client's DELETE leaves a tombstone in Redis (checked when a replica first sees an id) and is
 *   broadcast, so replicas holding a copy close it;
 * - answers to server→client requests, cancellations and session-wide messages cross replicas on one
 *   pub/sub channel (src/cluster/channels.ts).
 */
export class ClusterSessions implements SessionSharing {
  readonly peers: SessionPeers;
  private local: (id: string) => SessionEndpoint | undefined = () => undefined;
  private closeLocal: (id: string) => void = () => undefined;
  private readonly channel: string;

  private constructor(
    private readonly channels: ClusterChannels,
    private readonly key: Buffer,
    private readonly log: Logger,
  ) {
    const link = channels.link;
    const me = link.replicaId;
    this.channel = link.key("sessions");
    const send = (wire: Omit<Wire, "from">): void => this.channels.send(this.channel, { ...wire, from: me });
    this.peers = {
      replicaId: me,
      reply: (s, to, m) => send({ k: "reply", s, to, m }),
      cancelled: (s, m) => send({ k: "cancelled", s, m }),
      push: (s, m) => send({ k: "push", s, m }),
    };
  }

  /** Reads (or, on the first replica ever, makes) the shared secret and subscribes the sessions channel. */
  static async create(channels: ClusterChannels, log: Logger): Promise<ClusterSessions> {
    const link = channels.link;
    const secretKey = link.key("secret", "sessions");
    await link.redis.set(secretKey, randomBytes(32).toString("base64"), "NX");
    const secret = await link.redis.get(secretKey);
    if (!secret) throw new Error(`the shared session secret ${secretKey} vanished from Redis`);
    const key = Buffer.from(
      hkdfSync("sha256", Buffer.from(secret, "base64"), Buffer.alloc(0), "session-id", 32),
    );
    // A Redis restarted empty gets the secret back from the replicas that hold it (the same everywhere).
    link.onReconnect?.(() => void link.redis.set(secretKey, secret, "NX").catch(() => undefined));
    const sessions = new ClusterSessions(channels, key, log);
    channels.on(sessions.channel, (payload) => sessions.receive(payload as Wire));
    return sessions;
  }

  seal(session: SealedSession): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(AAD);
    const plain = JSON.stringify({ i: session.initialize, p: session.principal, t: Date.now() });
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ID_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
  }

  open(id: string): SealedSession | undefined {
    if (!id.startsWith(ID_PREFIX) || id.length > 16_384) return undefined;
    const raw = Buffer.from(id.slice(ID_PREFIX.length), "base64url");
    if (raw.length < 29) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAAD(AAD);
      decipher.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
      const v = JSON.parse(plain) as { i?: unknown; p?: unknown; t?: unknown };
      if (typeof v.p !== "string" || typeof v.t !== "number" || typeof v.i !== "object" || v.i === null)
        return undefined;
      if (Date.now() - v.t > SESSION_MAX_AGE_MS) return undefined;
      return { initialize: v.i as Record<string, unknown>, principal: v.p };
    } catch {
      return undefined; // not sealed with our key: an unknown session
    }
  }

  async isDeleted(id: string): Promise<boolean> {
    try {
      return (await this.channels.link.redis.exists(this.tombstone(id))) === 1;
    } catch (error) {
      throw new Error(`shared session state is unreachable (${String(error)}); try again`, { cause: error });
    }
  }

  async deleted(id: string): Promise<void> {
    try {
      await this.channels.link.redis.set(this.tombstone(id), "1", "PX", SESSION_MAX_AGE_MS);
    } catch (error) {
      this.log.warn({ err: String(error) }, "cluster: a deleted session could not be recorded in Redis");
    }
    this.channels.send(this.channel, { k: "deleted", s: id, from: this.channels.link.replicaId });
  }

  serve(local: (id: string) => SessionEndpoint | undefined, close: (id: string) => void): void {
    this.local = local;
    this.closeLocal = close;
  }

  private tombstone(id: string): string {
    return this.channels.link.key("session-deleted", createHash("sha256").update(id).digest("base64url"));
  }

  private receive(wire: Wire): void {
    const me = this.channels.link.replicaId;
    if (typeof wire !== "object" || wire === null || wire.from === me || typeof wire.s !== "string") return;
    if (wire.k === "deleted") return this.closeLocal(wire.s);
    if (wire.k === "reply" && wire.to !== me) return;
    if (typeof wire.m !== "object" || wire.m === null) return;
    this.local(wire.s)?.deliver(wire.k, wire.m);
  }
}
