import type { ResourceRoute } from "./catalog/catalog.js";

/**
 * resources/subscribe across sessions. On a shared connection the downstream is subscribed when the first
 * session subscribes to a URI and unsubscribed when the last one leaves (or closes). A per-client server
 * gets each session's subscribe and unsubscribe on that session's own connection.
 */
export class Subscriptions {
  private readonly subscribers = new Map<string, Set<string>>();

  constructor(
    private readonly resolve: (uri: string) => ResourceRoute | undefined,
    private readonly canSubscribe: (server: string) => boolean,
    private readonly send: (server: string, method: string, uri: string, sessionId: string) => Promise<void>,
    private readonly perClient: (server: string) => boolean = () => false,
  ) {}

  async subscribe(uri: string, sessionId: string): Promise<void> {
    let set = this.subscribers.get(uri);
    if (!set) this.subscribers.set(uri, (set = new Set()));
    const first = set.size === 0;
    const fresh = !set.has(sessionId);
    set.add(sessionId);
    const route = this.resolve(uri);
    if (!route || !this.canSubscribe(route.server)) return;
    if (this.perClient(route.server) ? fresh : first) {
      await this.send(route.server, "resources/subscribe", route.uri, sessionId);
    }
  }

  async unsubscribe(uri: string, sessionId: string, closing = false): Promise<void> {
    const set = this.subscribers.get(uri);
    if (!set?.delete(sessionId)) return;
    if (set.size === 0) this.subscribers.delete(uri);
    const route = this.resolve(uri);
    if (!route || !this.canSubscribe(route.server)) return;
    // A closing session's own connection is closed with it: nothing to tell.
    const last = this.perClient(route.server) ? !closing : set.size === 0;
    if (last) await this.send(route.server, "resources/unsubscribe", route.uri, sessionId);
  }

  dropSession(sessionId: string): void {
    for (const [uri, set] of this.subscribers) {
      if (set.has(sessionId)) void this.unsubscribe(uri, sessionId, true).catch(() => undefined);
    }
  }
}
