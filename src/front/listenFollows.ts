import type { RequestId } from "@modelcontextprotocol/server";
import type { FrontBackend } from "./backend.js";
import type { Logger } from "../logger.js";

/** At most this many URIs of one listen request are followed downstream (the rest are ignored). */
const MAX_FOLLOWED = 1_000;

/**
 * The resource URIs a 2026-07-28 `subscriptions/listen` request asks to follow
 * (`params.notifications.resourceSubscriptions`), when the message is such a request; undefined
 * otherwise. Only strings count; the SDK validates the request itself and answers a malformed one.
 */
export function listenResourceUris(message: unknown): { id: RequestId; uris: string[] } | undefined {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return undefined;
  const m = message as { method?: unknown; id?: unknown; params?: unknown };
  if (m.method !== "subscriptions/listen") return undefined;
  if (typeof m.id !== "string" && typeof m.id !== "number") return undefined;
  const notifications = (m.params as { notifications?: unknown } | undefined)?.notifications;
  const wanted = (notifications as { resourceSubscriptions?: unknown } | undefined)?.resourceSubscriptions;
  if (!Array.isArray(wanted)) return undefined;
  const uris = [...new Set(wanted.filter((u): u is string => typeof u === "string"))].slice(0, MAX_FOLLOWED);
  return uris.length === 0 ? undefined : { id: m.id, uris };
}

/**
 * A 2026-07-28 client follows resources on its `subscriptions/listen` stream, which the SDK's entry
 * serves (our handlers never see it). For the downstream to send `notifications/resources/updated`, the
 * aggregator must subscribe there as it does for a 2025-era `resources/subscribe`: each followed URI is
 * subscribed (under the front client's key: "stdio", or the principal's modern key over HTTP) when the
 * stream opens and unsubscribed when the last stream of that key following it ends.
 */
export class ListenFollows {
  /** key → uri → open listen streams following it. */
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(
    private readonly backend: Pick<FrontBackend, "subscribe" | "unsubscribe">,
    private readonly log: Logger,
  ) {}

  /** A listen stream of `key` opened following `uris`; the returned function ends it (idempotent). */
  follow(key: string, uris: readonly string[]): () => void {
    let byUri = this.counts.get(key);
    if (!byUri) this.counts.set(key, (byUri = new Map()));
    for (const uri of uris) {
      const n = byUri.get(uri) ?? 0;
      byUri.set(uri, n + 1);
      if (n === 0) this.send("subscribe", uri, key);
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const map = this.counts.get(key);
      if (!map) return;
      for (const uri of uris) {
        const n = (map.get(uri) ?? 1) - 1;
        if (n > 0) map.set(uri, n);
        else {
          map.delete(uri);
          this.send("unsubscribe", uri, key);
        }
      }
      if (map.size === 0) this.counts.delete(key);
    };
  }

  private send(what: "subscribe" | "unsubscribe", uri: string, key: string): void {
    const work = what === "subscribe" ? this.backend.subscribe(uri, key) : this.backend.unsubscribe(uri, key);
    work.catch((error: unknown) =>
      this.log.debug({ uri, err: String(error) }, `listen stream: downstream ${what} failed`),
    );
  }
}
