import type { ServerEvent, ServerEventBus } from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";
import type { ClusterChannels } from "./channels.js";

/** Events of one kind (one URI) published within this window go out as one. */
export const EVENT_COALESCE_MS = 50;

interface Wire {
  readonly from: string;
  readonly events: readonly ServerEvent[];
}

/**
 * The change events of every replica, for every replica: a `ServerEventBus` (the SDK's seam for
 * `subscriptions/listen`) over Redis pub/sub. publish() queues the event; within EVENT_COALESCE_MS the
 * queue is flushed, duplicates merged (one tools_list_changed for ten, one resource_updated per URI), to
 * this replica's listeners and, in one message, to the other replicas, whose listeners get them too. What
 * arrives from another replica is also handed to `onRemote` (the 2025-era sessions of this replica, which
 * its own catalog never told). A listener that throws does not stop the others.
 */
export class RedisEventBus implements ServerEventBus {
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  private readonly queued = new Map<string, ServerEvent>();
  private timer: NodeJS.Timeout | undefined;
  private readonly channel: string;

  private constructor(
    private readonly channels: ClusterChannels,
    private readonly log: Logger,
    private readonly onRemote: (event: ServerEvent) => void,
  ) {
    this.channel = channels.link.key("events");
  }

  static async create(
    channels: ClusterChannels,
    log: Logger,
    onRemote: (event: ServerEvent) => void,
  ): Promise<RedisEventBus> {
    const bus = new RedisEventBus(channels, log, onRemote);
    channels.on(bus.channel, (payload) => bus.receive(payload as Wire));
    return bus;
  }

  publish(event: ServerEvent): void {
    const key = event.kind === "resource_updated" ? `${event.kind} ${event.uri}` : event.kind;
    this.queued.set(key, event);
    this.timer ??= setTimeout(() => this.flush(), EVENT_COALESCE_MS);
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Sends what is queued now (close() and the coalescing timer). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queued.size === 0) return;
    const events = [...this.queued.values()];
    this.queued.clear();
    this.deliver(events);
    this.channels.send(this.channel, { from: this.channels.link.replicaId, events } satisfies Wire);
  }

  close(): void {
    this.flush();
    this.listeners.clear();
  }

  private receive(wire: Wire): void {
    if (typeof wire !== "object" || wire === null) return;
    if (wire.from === this.channels.link.replicaId || !Array.isArray(wire.events)) return;
    const events = wire.events.filter(isEvent);
    this.deliver(events);
    for (const event of events) {
      try {
        this.onRemote(event);
      } catch (error) {
        this.log.warn({ err: String(error) }, "cluster: a remote change event was not delivered");
      }
    }
  }

  private deliver(events: readonly ServerEvent[]): void {
    for (const event of events)
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch (error) {
          this.log.warn({ err: String(error) }, "cluster: an event listener failed");
        }
      }
  }
}

function isEvent(e: unknown): e is ServerEvent {
  if (typeof e !== "object" || e === null) return false;
  const kind = (e as { kind?: unknown }).kind;
  if (kind === "resource_updated") return typeof (e as { uri?: unknown }).uri === "string";
  return (
    kind === "tools_list_changed" || kind === "prompts_list_changed" || kind === "resources_list_changed"
  );
}
