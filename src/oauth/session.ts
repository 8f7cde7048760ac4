import {
  auth,
  extractWWWAuthenticateParams,
  type AuthProvider,
  type FetchLike,
} from "@modelcontextprotocol/client";
import { isAggregatorError } from "../errors.js";
import type { Logger } from "../logger.js";
import { authRequired, StoredOAuthProvider, type ProviderOptions } from "./provider.js";
import { TokenStore } from "./store.js";

type UnauthorizedContext = Parameters<NonNullable<AuthProvider["onUnauthorized"]>>[0];

/** Refresh this long before expiry at most (a token living 1 h is refreshed 60 s early). */
const MAX_EARLY_MS = 60_000;

/**
 * One OAuth-protected server in a serving process: the bearer token for every request, refreshed
 * shortly before it expires and on a 401, with ONE refresh in flight (every caller waits for it; a
 * rotated refresh token is saved before anyone uses it). Shared by every connection to the server.
 */
export class OAuthSession {
  readonly provider: StoredOAuthProvider;
  private refreshing: Promise<void> | undefined;
  /** The access token each sent request carried, by its response: a 401 for an old token needs no refresh. */
  private readonly sentWith = new WeakMap<Response, string | null>();
  private resourceMetadataUrl: URL | undefined;
  private scope: string | undefined;
  /** Refreshes completed in this process (doctor / tests read it; never the tokens). */
  refreshCount = 0;

  constructor(
    private readonly o: ProviderOptions,
    private readonly log: Pick<Logger, "info" | "warn">,
  ) {
    this.provider = new StoredOAuthProvider(o);
    this.scope = o.settings.scopes?.join(" ") || undefined;
  }

  /** What the transport takes as `authProvider`. */
  authProvider(): AuthProvider {
    return {
      token: () => this.accessToken(),
      onUnauthorized: (ctx) => this.onUnauthorized(ctx),
    };
  }

  /** Wraps the transport's fetch to remember which token each request carried. */
  trackingFetch(base: FetchLike): FetchLike {
    return async (url, init) => {
      const response = await base(url, init);
      if (response.status === 401) {
        const header = new Headers(init?.headers).get("authorization");
        this.sentWith.set(response, header?.replace(/^Bearer\s+/i, "") ?? null);
      }
      return response;
    };
  }

  async accessToken(): Promise<string | undefined> {
    const entry = await this.provider.entry();
    const tokens = entry?.tokens;
    if (!tokens) return undefined;
    if (entry.expiresAt !== undefined && tokens.refresh_token) {
      const early = Math.min(MAX_EARLY_MS, (entry.lifetimeMs ?? 0) / 5);
      if (this.o.now() >= entry.expiresAt - early) {
        await this.refresh(undefined);
        return (await this.provider.entry())?.tokens?.access_token;
      }
    }
    return tokens.access_token;
  }

  private async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    const challenge = extractWWWAuthenticateParams(ctx.response);
    if (challenge.resourceMetadataUrl) this.resourceMetadataUrl = challenge.resourceMetadataUrl;
    if (challenge.scope) this.scope = challenge.scope;
    if (this.refreshing) return this.refreshing;
    const current = (await this.provider.entry())?.tokens;
    const used = this.sentWith.get(ctx.response);
    // Someone refreshed since this request left: retry with the new token, no second refresh.
    if (current && used !== undefined && used !== null && used !== current.access_token) return;
    if (!current?.refresh_token) {
      throw authRequired(
        this.o.server,
        current ? "the OAuth token was refused" : "not logged in (no OAuth token stored)",
      );
    }
    return this.refresh(ctx.fetchFn);
  }

  /** The one refresh in flight; callers that arrive meanwhile wait for the same one. */
  private refresh(fetchFn: FetchLike | undefined): Promise<void> {
    this.refreshing ??= this.runRefresh(fetchFn).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async runRefresh(fetchFn: FetchLike | undefined): Promise<void> {
    const before = (await this.provider.entry())?.tokens?.access_token;
    // One refresh across processes too: whoever waited for the lock finds the tokens already renewed.
    await this.o.store.withLock(this.o.server, async () => {
      const now = (await this.provider.entry())?.tokens?.access_token;
      if (now !== undefined && now !== before) return;
      await this.refreshNow(fetchFn);
    });
  }

  private async refreshNow(fetchFn: FetchLike | undefined): Promise<void> {
    try {
      const result = await auth(this.provider, {
        serverUrl: this.o.url,
        ...(this.resourceMetadataUrl ? { resourceMetadataUrl: this.resourceMetadataUrl } : {}),
        ...(this.scope ? { scope: this.scope } : {}),
        ...(fetchFn ? { fetchFn } : {}),
      });
      if (result !== "AUTHORIZED")
        throw authRequired(this.o.server, "the OAuth token could not be refreshed");
      this.refreshCount++;
      const entry = await this.provider.entry();
      this.log.info(
        {
          server: this.o.server,
          expiresAt: entry?.expiresAt ? new Date(entry.expiresAt).toISOString() : undefined,
        },
        "OAuth token refreshed",
      );
    } catch (error) {
      if (isAggregatorError(error)) throw error;
      this.log.warn({ server: this.o.server, reason: (error as Error).name }, "OAuth token refresh failed");
      throw authRequired(
        this.o.server,
        `the OAuth token could not be refreshed (${(error as Error).message})`,
        error,
      );
    }
  }
}

/** Every OAuth session of one process, by server name: built by the composition root, shared by reconnects. */
export class OAuthSessions {
  private readonly sessions = new Map<string, OAuthSession>();

  constructor(
    private readonly make: (
      server: string,
      url: string,
      settings: ProviderOptions["settings"],
    ) => OAuthSession,
  ) {}

  sessionFor(server: string, url: string, settings: ProviderOptions["settings"]): OAuthSession {
    // A reload that changes the url or the auth block gets a new session.
    const key = `${server}\n${url}\n${JSON.stringify(settings)}`;
    let session = this.sessions.get(key);
    if (!session) this.sessions.set(key, (session = this.make(server, url, settings)));
    return session;
  }
}

/** The sessions of a serving process: tokens from the user's store (TokenStore.fromEnv). */
export function createOAuthSessions(
  log: Pick<Logger, "info" | "warn">,
  store: TokenStore = TokenStore.fromEnv(),
  now: () => number = Date.now,
): OAuthSessions {
  return new OAuthSessions(
    (server, url, settings) => new OAuthSession({ server, url, settings, store, now }, log),
  );
}
