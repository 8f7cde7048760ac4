import type {
  OAuthClientInformationContext,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import { randomUUID } from "node:crypto";
import { AggregatorError } from "../errors.js";
import type { StoredServerAuth, TokenStore } from "./store.js";

/** A server entry's `auth` block (config/serverSchema.ts), as the OAuth code sees it. */
export interface OAuthSettings {
  /**
   * "client_credentials": a machine client (ClientCredentialsProvider / PrivateKeyJwtProvider);
   * "cross_app_access": enterprise-managed authorization (CrossAppAccessProvider). Neither has a login.
   */
  readonly type: "oauth" | "client_credentials" | "cross_app_access";
  readonly clientId?: string | undefined;
  readonly clientSecret?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly redirectPort?: number | undefined;
  readonly clientMetadataUrl?: string | undefined;
  /** client_credentials: private_key_jwt instead of clientSecret. */
  readonly privateKey?: string | undefined;
  readonly algorithm?: string | undefined;
  /** client_credentials, cross_app_access: credentials go to this authorization server only. */
  readonly issuer?: string | undefined;
  /** cross_app_access: the identity provider that exchanges the user's ID token for an ID-JAG. */
  readonly idp?:
    | {
        readonly tokenEndpoint: string;
        readonly clientId: string;
        readonly clientSecret?: string | undefined;
        readonly idToken: string;
      }
    | undefined;
}

/** The text every "no usable token" failure carries: what to run. */
export function loginHint(server: string): string {
  return `run: autonomous-mcp login ${server}`;
}

export function authRequired(server: string, why: string, cause?: unknown): AggregatorError {
  return new AggregatorError("AUTH_REQUIRED", `${server}: ${why}; ${loginHint(server)}`, {
    cause,
    details: { server },
  });
}

export interface ProviderOptions {
  readonly server: string;
  readonly url: string;
  readonly settings: OAuthSettings;
  readonly store: TokenStore;
  readonly now: () => number;
  /** login: the loopback redirect URL and what to do with the authorization URL. Absent: never redirect. */
  readonly interactive?: { readonly redirectUrl: string; readonly open: (url: URL) => void | Promise<void> };
}

/**
 * The SDK's OAuthClientProvider over our encrypted store: the SDK runs discovery, PKCE, registration,
 * the code exchange and refresh; this class only keeps what it hands us. A serving process is never
 * interactive: where the SDK would send a user to the browser, it fails with AUTH_REQUIRED naming login.
 */
export class StoredOAuthProvider implements OAuthClientProvider {
  private verifier: string | undefined;
  private lastState: string | undefined;
  /** The refresh token last handed to the SDK: only that one may be dropped as refused. */
  private handedOut: string | undefined;

  constructor(private readonly o: ProviderOptions) {}

  get redirectUrl(): string {
    return (
      this.o.interactive?.redirectUrl ?? `http://127.0.0.1:${this.o.settings.redirectPort ?? 0}/callback`
    );
  }

  /** A Client ID Metadata Document URL (config `auth.clientMetadataUrl`): the SDK uses it as client_id where supported. */
  get clientMetadataUrl(): string | undefined {
    return this.o.settings.clientMetadataUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    const scope = this.o.settings.scopes?.join(" ");
    return {
      client_name: "autonomous-mcp",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: this.o.settings.clientSecret ? "client_secret_basic" : "none",
      application_type: "native",
      ...(scope ? { scope } : {}),
    };
  }

  state(): string {
    this.lastState = randomUUID();
    return this.lastState;
  }

  /** The state sent with the authorization request (login compares the callback's). */
  expectedState(): string | undefined {
    return this.lastState;
  }

  async clientInformation(
    ctx?: OAuthClientInformationContext,
  ): Promise<StoredOAuthClientInformation | undefined> {
    const { clientId, clientSecret } = this.o.settings;
    if (clientId) {
      return {
        client_id: clientId,
        ...(clientSecret ? { client_secret: clientSecret } : {}),
        ...(ctx ? { issuer: ctx.issuer } : {}),
      };
    }
    const client = (await this.entry())?.client as StoredOAuthClientInformation | undefined;
    // A registration made at another authorization server is no registration here (SEP-2352).
    const issuer = (client as { issuer?: unknown } | undefined)?.issuer;
    if (ctx && typeof issuer === "string" && issuer !== ctx.issuer) return undefined;
    return client;
  }

  async saveClientInformation(info: StoredOAuthClientInformation): Promise<void> {
    if (this.o.settings.clientId) return; // pre-registered: the config is the source
    await this.change((e) => ({ ...e, client: info as StoredServerAuth["client"] }));
  }

  async tokens(): Promise<StoredOAuthTokens | undefined> {
    const tokens = (await this.entry())?.tokens as StoredOAuthTokens | undefined;
    this.handedOut = tokens?.refresh_token;
    return tokens;
  }

  async saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    const now = this.o.now();
    const life = typeof tokens.expires_in === "number" ? tokens.expires_in * 1000 : undefined;
    await this.change((e) => {
      // A refresh answer without a refresh_token keeps the old one (RFC 6749 §6); a new one replaces it (rotation).
      const refresh = tokens.refresh_token ?? e.tokens?.refresh_token;
      const { expiresAt: _oldExpiry, lifetimeMs: _oldLife, ...rest } = e;
      return {
        ...rest,
        tokens: { ...tokens, ...(refresh ? { refresh_token: refresh } : {}) },
        ...(life !== undefined ? { expiresAt: now + life, lifetimeMs: life } : {}),
      };
    });
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    if (!this.o.interactive)
      throw authRequired(this.o.server, "no usable OAuth token (not logged in, expired or revoked)");
    await this.o.interactive.open(authorizationUrl);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.verifier)
      throw new Error(`${this.o.server}: no PKCE code verifier (the login was not started here)`);
    return this.verifier;
  }

  async saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    await this.change((e) => ({ ...e, discovery: state as unknown as Record<string, unknown> }));
  }

  async discoveryState(): Promise<OAuthDiscoveryState | undefined> {
    return (await this.entry())?.discovery as OAuthDiscoveryState | undefined;
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    if (scope === "verifier") return void (this.verifier = undefined);
    await this.change((e) => {
      const next = { ...e };
      // Another process (or login) replaced the tokens since the SDK read them: the refused refresh token
      // was an old one, and the new tokens must survive (the SDK's retry then uses them).
      const replaced = e.tokens?.refresh_token !== this.handedOut;
      if ((scope === "all" || scope === "tokens") && !replaced) {
        delete next.tokens;
        delete next.expiresAt;
        delete next.lifetimeMs;
      }
      if (scope === "all" || scope === "client") delete next.client;
      if (scope === "all" || scope === "discovery") delete next.discovery;
      return next;
    });
  }

  /** login: a new sign-in replaces whatever tokens are stored. */
  async forgetTokens(): Promise<void> {
    await this.change(({ tokens: _t, expiresAt: _e, lifetimeMs: _l, ...rest }) => rest);
  }

  /** The stored state, or nothing when it was obtained for another URL (the config's url changed). */
  async entry(): Promise<StoredServerAuth | undefined> {
    const e = await this.o.store.get(this.o.server);
    return e && e.url === this.o.url ? e : undefined;
  }

  private change(fn: (e: StoredServerAuth) => StoredServerAuth): Promise<void> {
    return this.o.store.update(this.o.server, (e) => ({
      ...fn(e.url === this.o.url ? e : {}),
      url: this.o.url,
    }));
  }
}
