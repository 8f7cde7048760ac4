import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";

/**
 * What the replica-to-replica pieces (sessions, events, owner leases) need of the replica's Redis
 * connections: the `cluster` module's ClusterState has this shape (src/cluster/connection.ts).
 */
export interface ClusterLink {
  /** The command connection. */
  readonly redis: Redis;
  /** The pub/sub connection (subscribed: it issues nothing else). */
  readonly subscriber: Redis;
  readonly replicaId: string;
  /** A key or channel name under the cluster's prefix. */
  key(...parts: readonly string[]): string;
  /** Told each time the connections are back after a loss (Redis may have restarted empty). */
  onReconnect?(listener: () => void): () => void;
}

type Handler = (payload: unknown) => void;

/**
 * JSON messages between replicas over Redis pub/sub, on the link's subscriber connection (shared with
 * other users of it: each channel is dispatched here by name). Pub/sub is at-most-once: a message sent
 * while a replica is disconnected is lost to it, which every user of a channel is written to tolerate.
 * ioredis subscribes the channels again after a reconnect.
 */
export class ClusterChannels {
  private readonly handlers = new Map<string, Handler>();
  private readonly onMessage = (channel: string, text: string): void => {
    const handler = this.handlers.get(channel);
    if (!handler) return;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      this.log.warn({ channel }, "cluster: unparsable message dropped");
      return;
    }
    try {
      handler(payload);
    } catch (error) {
      this.log.warn({ channel, err: String(error) }, "cluster: message handler failed");
    }
  };

  constructor(
    readonly link: ClusterLink,
    private readonly log: Logger,
  ) {
    link.subscriber.on("message", this.onMessage);
  }

  /** Handles one channel's messages (subscribes it; resolves once Redis confirmed, rejects if it is down). */
  async on(channel: string, handler: Handler): Promise<void> {
    this.handlers.set(channel, handler);
    await this.link.subscriber.subscribe(channel);
  }

  /** Sends one message; resolves with how many replicas were subscribed (0: nobody heard it). */
  async publish(channel: string, payload: unknown): Promise<number> {
    return await this.link.redis.publish(channel, JSON.stringify(payload));
  }

  /** Sends without waiting; a failure (Redis down) is logged once per call site and dropped. */
  send(channel: string, payload: unknown): void {
    this.publish(channel, payload).catch((error: unknown) =>
      this.log.warn({ channel, err: String(error) }, "cluster: message not sent (redis unreachable)"),
    );
  }

  async close(): Promise<void> {
    this.link.subscriber.off("message", this.onMessage);
    const channels = [...this.handlers.keys()];
    this.handlers.clear();
    if (channels.length > 0 && this.link.subscriber.status === "ready")
      await this.link.subscriber.unsubscribe(...channels).catch(() => undefined);
  }
}
