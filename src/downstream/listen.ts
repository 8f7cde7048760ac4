import type { Client, ServerCapabilities } from "@modelcontextprotocol/client";
import { ProtocolError } from "@modelcontextprotocol/client";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";

/** Wait before opening a dropped subscription stream again, ms. */
const RELISTEN_DELAY_MS = 1_000;
/** Most resources one modern server's stream follows for us (a bound on the filter we send). */
const MAX_RESOURCE_SUBSCRIPTIONS = 1_000;

type Filter = {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
};
type Subscription = Awaited<ReturnType<Client["listen"]>>;

/**
 * A modern (2026-07-28) server sends change notifications only on a `subscriptions/listen` stream the
 * client opens, and has no `resources/subscribe`. This keeps one stream per connection: list changes for
 * the lists the server says change, and the resources our clients subscribed to (a client's
 * `resources/subscribe` / `resources/unsubscribe` becomes a new stream with the new filter). Its
 * notifications reach the same handlers a 2025-era server's unsolicited ones do (client.ts). A stream
 * that drops while the connection is current is opened again; one the server refuses leaves everything
 * else working.
 */
export class ChangeStream {
  private readonly uris = new Set<string>();
  private subscription: Subscription | undefined;
  /** Stream changes, one at a time. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Client,
    private readonly capabilities: ServerCapabilities | undefined,
    private readonly isCurrent: () => boolean,
    private readonly log: Logger,
  ) {
    void this.change().catch(
      (error: unknown) =>
        void log.warn(
          { err: errorMessage(error) },
          "the server refused a subscription stream: its list changes are not seen",
        ),
    );
  }

  /** Requests this stream answers in place of the server (they do not exist in 2026-07-28). */
  static owns(method: string): boolean {
    return method === "resources/subscribe" || method === "resources/unsubscribe";
  }

  /** resources/subscribe or resources/unsubscribe: the stream's filter changes; answered `{}` once the server acknowledged it. */
  async request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const uri = params["uri"];
    if (typeof uri !== "string") throw new ProtocolError(-32602, `${method}: params.uri must be a string`);
    if (method === "resources/subscribe") {
      if (!this.capabilities?.resources?.subscribe)
        throw new ProtocolError(-32601, "the server does not support resource subscriptions");
      if (this.uris.has(uri)) return {};
      if (this.uris.size >= MAX_RESOURCE_SUBSCRIPTIONS)
        throw new ProtocolError(
          -32603,
          `at most ${MAX_RESOURCE_SUBSCRIPTIONS} resource subscriptions per server`,
        );
      this.uris.add(uri);
    } else if (!this.uris.delete(uri)) return {};
    await this.change();
    return {};
  }

  private filter(): Filter {
    const caps = this.capabilities;
    return {
      ...(caps?.tools?.listChanged ? { toolsListChanged: true as const } : {}),
      ...(caps?.prompts?.listChanged ? { promptsListChanged: true as const } : {}),
      ...(caps?.resources?.listChanged ? { resourcesListChanged: true as const } : {}),
      ...(this.uris.size > 0 ? { resourceSubscriptions: [...this.uris] } : {}),
    };
  }

  /** Replaces the open stream (if any) with one for the current filter. */
  private change(): Promise<void> {
    const next = this.chain.then(async () => {
      const old = this.subscription;
      this.subscription = undefined;
      await old?.close().catch(() => undefined);
      const filter = this.filter();
      if (!this.isCurrent() || Object.keys(filter).length === 0) return;
      const subscription = await this.client.listen(filter);
      this.subscription = subscription;
      void subscription.closed.then((reason) => {
        if (reason !== "remote" || this.subscription !== subscription || !this.isCurrent()) return;
        this.log.debug("the server's subscription stream dropped; listening again");
        setTimeout(() => void this.change().catch(() => undefined), RELISTEN_DELAY_MS).unref();
      });
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** The change stream of a connected client: one for a modern (2026-07-28) connection, none for a 2025-era one. */
export function changeStreamOf(
  client: Client,
  capabilities: ServerCapabilities | undefined,
  isCurrent: () => boolean,
  log: Logger,
): ChangeStream | undefined {
  return client.getProtocolEra() === "modern"
    ? new ChangeStream(client, capabilities, isCurrent, log)
    : undefined;
}
