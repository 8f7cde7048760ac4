import { InMemoryServerEventBus, type ServerEventBus } from "@modelcontextprotocol/server";
import type { Logger } from "../logger.js";

export type { ServerEventBus };

/** Which of the three lists changed (src/catalog/changes.ts). */
export interface ListChanges {
  readonly tools: boolean;
  readonly resources: boolean;
  readonly prompts: boolean;
}

/**
 * The change events of 2026-07-28 clients: the aggregator publishes every list change and resource
 * update here (where it tells its 2025-era sessions), and the HTTP front's `subscriptions/listen` streams
 * (the SDK's `createMcpHandler` listen router) subscribe to it. In-process by default; the composition
 * root may hand in another `ServerEventBus` (one shared by several replicas, over Redis).
 */
export function createEventBus(log: Logger): ServerEventBus {
  return new InMemoryServerEventBus((error) =>
    log.warn({ err: error.message }, "a subscriptions/listen stream failed to take an event"),
  );
}

/** Publishes the lists that changed (one event per list). */
export function publishListChanges(bus: ServerEventBus, changed: ListChanges): void {
  if (changed.tools) bus.publish({ kind: "tools_list_changed" });
  if (changed.resources) bus.publish({ kind: "resources_list_changed" });
  if (changed.prompts) bus.publish({ kind: "prompts_list_changed" });
}

/** Publishes `notifications/resources/updated` for one URI (delivered to listen streams following it). */
export function publishResourceUpdated(bus: ServerEventBus, uri: string): void {
  bus.publish({ kind: "resource_updated", uri });
}
