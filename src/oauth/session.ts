import {
  auth,
  ClientCredentialsProvider,
  computeScopeUnion,
  CrossAppAccessProvider,
  extractWWWAuthenticateParams,
  PrivateKeyJwtProvider,
  requestJwtAuthorizationGrant,
  type AuthProvider,
  type FetchLike,
  type OAuthClientProvider,
} from "@modelcontextprotocol/client";
import { isAggregatorError } from "../errors.js";
import type { Logger } from "../logger.js";
import { authorizationCodeFlow } from "./flow.js";
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
  private machine: OAuthClientProvider | undefined;
  /** The sign-in a running aggregator started for a caller (signIn.ts); one per server at a time. */
  private signingIn: RunningSignIn | undefined;

  constructor(
    private readonly o: ProviderOptions,
    private readonly log: Pick<Logger, "info" | "warn">,
  ) {
    this.provider = new StoredOAuthProvider(o);
    this.scope = o.settings.scopes?.join(" ") || undefined;
  }

  /** A user signs in to this server (authorization code); false for a machine client. */
  get interactive(): boolean {
    return this.o.settings.type === "oauth";
  }

  /**
   * What the transport takes as `authProvider`. A machine client ("client_credentials") is the SDK's own
   * provider: the transport's adapter runs the client credentials grant on a 401, with no user involved.
   */
  authProvider(): AuthProvider | OAuthClientProvider {
    if (this.o.settings.type !== "oauth") return (this.machine ??= machineProvider(this.o.settings));
    return {
      token: () => this.accessToken(),
      onUnauthorized: (ctx) => this.onUnauthorized(ctx),
    };
  }

  /** Wraps the transport's fetch to remember which token each request carried. */
  trackingFetch(base: FetchLike): FetchLike {
    return async (url, init) => {
      const response = await base(url, init);
      if (response.status === 403) this.onForbidden(response);
      if (response.status === 401) {
        const header = new Headers(init?.headers).get("authorization");
        this.sentWith.set(response, header?.replace(/^Bearer\s+/i, "") ?? null);
      }
      return response;
    };
  }

  /**
   * 403 insufficient_scope (step-up): the next sign-in asks for the union of the scope asked so far, the
   * token's and the challenged one (the transport then fails the request: classify.ts → AUTH_REQUIRED).
   */
  private onForbidden(response: Response): void {
    const challenge = extractWWWAuthenticateParams(response);
    if (challenge.error !== "insufficient_scope") return;
    if (challenge.resourceMetadataUrl) this.resourceMetadataUrl = challenge.resourceMetadataUrl;
    this.scope = computeScopeUnion(this.scope, challenge.scope) || undefined;
    void this.provider.entry().then((entry) => {
      const granted = typeof entry?.tokens?.["scope"] === "string" ? entry.tokens["scope"] : undefined;
      this.scope = computeScopeUnion(this.scope, granted, challenge.scope) || undefined;
    });
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

  /**
   * Starts the authorization-code flow with a loopback redirect in this process, or joins the one in
   * flight: `url` is the authorization URL to hand the user, `done` settles once the tokens are stored (or
   * the flow failed, or nobody came back within `timeoutMs`). Each joiner calls `leave()` when it stops
   * waiting; when the last one has left before the user came back, the flow stops (its listener closes).
   */
  beginSignIn(timeoutMs: number): SignInFlow {
    const flow = (this.signingIn ??= this.startSignIn(timeoutMs));
    flow.waiters++;
    let left = false;
    return {
      url: flow.url,
      done: flow.done,
      leave: () => {
        if (left) return;
        left = true;
        if (--flow.waiters === 0 && this.signingIn === flow) flow.stop.abort(new Error("nobody waits"));
      },
    };
  }

  private startSignIn(timeoutMs: number): RunningSignIn {
    let give: (url: URL) => void = () => undefined;
    let fail: (error: unknown) => void = () => undefined;
    const url = new Promise<URL>((resolve, reject) => ((give = resolve), (fail = reject)));
    url.catch(() => undefined);
    const stop = new AbortController();
    const done = authorizationCodeFlow(
      {
        server: this.o.server,
        url: this.o.url,
        settings: this.o.settings,
        connectTimeoutMs: timeoutMs,
        resourceMetadataUrl: this.resourceMetadataUrl,
        scope: this.scope,
      },
      {
        store: this.o.store,
        now: this.o.now,
        timeoutMs,
        signal: stop.signal,
        onAuthorizationUrl: (u) => give(u),
      },
    ).finally(() => {
      if (this.signingIn === running) this.signingIn = undefined;
    });
    done.then(
      () => this.log.info({ server: this.o.server }, "OAuth sign-in completed"),
      (error: unknown) => {
        fail(error);
        this.log.warn({ server: this.o.server, reason: (error as Error).message }, "OAuth sign-in ended");
      },
    );
    const running: RunningSignIn = { url, done, stop, waiters: 0 };
    return running;
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

/** The SDK's provider for a client with no user at the browser (the config refuses them without clientId). */
function machineProvider(settings: ProviderOptions["settings"]): OAuthClientProvider {
  const clientId = settings.clientId ?? "";
  const scope = settings.scopes?.join(" ") || undefined;
  const common = {
    clientId,
    clientName: "autonomous-mcp",
    ...(scope ? { scope } : {}),
    ...(settings.issuer ? { expectedIssuer: settings.issuer } : {}),
  };
  const idp = settings.idp;
  if (settings.type === "cross_app_access" && idp) {
    // SEP-990: the IdP turns the user's ID token into an ID-JAG for this authorization server and resource.
    return new CrossAppAccessProvider({
      ...common,
      clientSecret: settings.clientSecret ?? "",
      assertion: async (ctx) =>
        (
          await requestJwtAuthorizationGrant({
            tokenEndpoint: idp.tokenEndpoint,
            audience: ctx.authorizationServerUrl,
            resource: ctx.resourceUrl,
            idToken: idp.idToken,
            clientId: idp.clientId,
            ...(idp.clientSecret ? { clientSecret: idp.clientSecret } : {}),
            fetchFn: ctx.fetchFn,
          })
        ).jwtAuthGrant,
    });
  }
  return settings.privateKey !== undefined
    ? new PrivateKeyJwtProvider({
        ...common,
        privateKey: settings.privateKey,
        algorithm: settings.algorithm ?? "ES256",
      })
    : new ClientCredentialsProvider({ ...common, clientSecret: settings.clientSecret ?? "" });
}

/** A sign-in in flight as one waiter sees it: the URL to hand the user, its completion, and leaving. */
export interface SignInFlow {
  readonly url: Promise<URL>;
  readonly done: Promise<void>;
  leave(): void;
}

interface RunningSignIn {
  readonly url: Promise<URL>;
  readonly done: Promise<void>;
  readonly stop: AbortController;
  waiters: number;
}

/** Every OAuth session of one process, by server name: built by the composition root, shared by reconnects. */
export class OAuthSessions {
  private readonly sessions = new Map<string, OAuthSession>();
  private readonly latest = new Map<string, OAuthSession>();

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
    this.latest.set(server, session);
    return session;
  }

  /** The session the server's connections use now (the last one made for its config). */
  forServer(server: string): OAuthSession | undefined {
    return this.latest.get(server);
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
