import type { ClusterState } from "./connection.js";
import type { Logger } from "../logger.js";

/**
 * What the replica-to-replica pieces (sessions, events, owner leases) need of the replica's Redis
 * connections: the `cluster` module's ClusterState (src/cluster/connection.ts).
 */
export type ClusterLink = Pick<ClusterState, "redis" | "replicaId" | "key" | "subscribe" | "onReconnect">;

type Handler = (payload: unknown) => void;

/**
 * JSON messages between replicas over Redis pub/sub, subscribed through the link's own subscribe (one
 * mechanism for every channel of the replica: resubscribed after each reconnect). Pub/sub is
 * at-most-once: a message sent while a replica is disconnected is lost to it, which every user of a
 * channel is written to tolerate.
 */
export class ClusterChannels {
  private readonly offs: (() => void)[] = [];

  constructor(
    readonly link: ClusterLink,
    private readonly log: Logger,
  ) {}

  /** Handles one channel's messages (JSON; an unparsable one is logged and dropped). */
  on(channel: string, handler: Handler): void {
    this.offs.push(
      this.link.subscribe(channel, (text) => {
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
      }),
    );
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

  close(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
