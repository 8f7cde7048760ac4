import { auth, extractWWWAuthenticateParams } from "@modelcontextprotocol/client";
import { startLoopback } from "./loopback.js";
import { StoredOAuthProvider, type OAuthSettings } from "./provider.js";
import type { TokenStore } from "./store.js";

/** One server to sign in to, as the authorization-code flow needs it. */
export interface FlowTarget {
  readonly server: string;
  readonly url: string;
  readonly settings: OAuthSettings;
  /** The entry's static headers, sent with the unauthenticated probe that reads the 401 challenge. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly connectTimeoutMs: number;
  /** Already known from a 401 challenge: the probe is skipped. */
  readonly resourceMetadataUrl?: URL | undefined;
  readonly scope?: string | undefined;
}

export interface FlowOptions {
  readonly store: TokenStore;
  readonly now: () => number;
  /** How long to wait for the user to come back through the loopback redirect, ms. */
  readonly timeoutMs: number;
  /** Told the authorization URL (print it, open a browser, elicit it). */
  readonly onAuthorizationUrl: (url: URL, redirectUrl: string) => void | Promise<void>;
  /** Stops waiting for the user (the flow rejects with this signal's reason). */
  readonly signal?: AbortSignal | undefined;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "autonomous-mcp-login", version: "1" },
  },
});

const TOOLS_LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });

/**
 * The OAuth 2.1 authorization-code flow with PKCE and a loopback redirect on 127.0.0.1 (RFC 8252): the SDK
 * does discovery (from the server's 401 challenge), registration and the code exchange; we listen for the
 * redirect, check `state` (and the SDK `iss`), and the provider stores the tokens encrypted. Used by
 * `autonomous-mcp login` and by a running aggregator asking the calling client to sign in (signIn.ts).
 * Resolves once the tokens are stored; the authorization server's error text is never echoed.
 */
export async function authorizationCodeFlow(target: FlowTarget, o: FlowOptions): Promise<void> {
  const listener = await startLoopback(target.settings.redirectPort ?? 0);
  try {
    const provider = new StoredOAuthProvider({
      server: target.server,
      url: target.url,
      settings: target.settings,
      store: o.store,
      now: o.now,
      interactive: {
        redirectUrl: listener.redirectUrl,
        open: (url) => o.onAuthorizationUrl(url, listener.redirectUrl),
      },
    });
    // A registration made for another redirect URL is made again.
    const client = (await provider.entry())?.client as { redirect_uris?: unknown } | undefined;
    const uris = Array.isArray(client?.redirect_uris) ? client.redirect_uris : [];
    if (client && !uris.includes(listener.redirectUrl)) await provider.invalidateCredentials("client");

    const found = target.resourceMetadataUrl
      ? { resourceMetadataUrl: target.resourceMetadataUrl, scope: target.scope }
      : await probe(target);
    const scope = target.settings.scopes?.join(" ") || found.scope || undefined;
    const options = {
      serverUrl: target.url,
      ...(found.resourceMetadataUrl ? { resourceMetadataUrl: found.resourceMetadataUrl } : {}),
      ...(scope ? { scope } : {}),
    };
    // A new sign-in replaces the tokens: without this the SDK would refresh instead of asking the user.
    // Discovery starts afresh too: the server may have moved to another authorization server (SEP-2352).
    await provider.forgetTokens();
    await provider.invalidateCredentials("discovery");
    const first = await auth(provider, options);
    if (first !== "REDIRECT") return;
    const params = await waitFor(listener.waitForCallback(o.timeoutMs), o.signal);
    const error = params.get("error");
    if (error) throw new Error(`the authorization server refused the sign-in (${error.slice(0, 64)})`);
    if (params.get("state") !== provider.expectedState())
      throw new Error("the callback's state does not match");
    const code = params.get("code");
    if (!code) throw new Error("the callback carried no authorization code");
    const iss = params.get("iss") ?? undefined;
    await auth(provider, { ...options, authorizationCode: code, ...(iss ? { iss } : {}) });
    if (!(await provider.entry())?.tokens) throw new Error("no token was stored");
  } finally {
    await listener.close();
  }
}

/**
 * Unauthenticated requests whose 401 challenge names the resource metadata and the scope: an initialize,
 * and when the server lets that one through (some gate only the requests after it), a tools/list.
 */
async function probe(target: FlowTarget): Promise<{ resourceMetadataUrl?: URL; scope?: string }> {
  const post = (body: string, extra: Record<string, string> = {}): Promise<Response> =>
    fetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...target.headers,
        ...extra,
      },
      body,
      signal: AbortSignal.timeout(target.connectTimeoutMs),
    });
  let challenge = await post(INITIALIZE);
  if (challenge.status !== 401) {
    const session = challenge.headers.get("mcp-session-id");
    await challenge.body?.cancel().catch(() => undefined);
    challenge = await post(TOOLS_LIST, {
      "mcp-protocol-version": "2025-06-18",
      ...(session ? { "mcp-session-id": session } : {}),
    });
  }
  const found = challenge.status === 401 ? extractWWWAuthenticateParams(challenge) : {};
  await challenge.body?.cancel().catch(() => undefined);
  return {
    ...(found.resourceMetadataUrl ? { resourceMetadataUrl: found.resourceMetadataUrl } : {}),
    ...(found.scope ? { scope: found.scope } : {}),
  };
}

function waitFor<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", stop, { once: true });
    work.then(
      (v) => (signal.removeEventListener("abort", stop), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", stop), reject(e as Error)),
    );
  });
}
