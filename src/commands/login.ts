import type { LoadedConfig, ResolvedServer } from "../config/load.js";
import { errorMessage } from "../errors.js";
import { openBrowser } from "../oauth/browser.js";
import { authorizationCodeFlow } from "../oauth/flow.js";
import type { OAuthSettings } from "../oauth/provider.js";
import { TokenStore } from "../oauth/store.js";

export interface LoginIo {
  /** One line for the person at the terminal (stderr). */
  readonly say: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** false: print the URL only (--no-browser). */
  readonly browser: boolean;
  /** How long to wait for the sign-in, ms. */
  readonly timeoutMs: number;
}

/** The http server with `auth` named on the command line, or an exit code after saying why not. */
function oauthServer(
  loaded: LoadedConfig,
  name: string,
  command: string,
  say: (line: string) => void,
): (ResolvedServer & { url: string; auth: OAuthSettings }) | number {
  const server = loaded.servers.find((s) => s.name === name);
  if (!server) {
    const names = loaded.servers.map((s) => s.name).join(", ") || "none";
    say(`autonomous-mcp ${command}: no server "${name}" in ${loaded.path} (the servers are ${names})`);
    return 2;
  }
  if (server.type !== "http" || !server.url || !server.auth) {
    say(
      `autonomous-mcp ${command}: server "${name}" does not use OAuth; give it "auth": { "type": "oauth" } ` +
        `(an http server with a "url"; see docs/oauth.md)`,
    );
    return 2;
  }
  if (server.auth.type !== "oauth") {
    say(
      `autonomous-mcp ${command}: server "${name}" uses "type": "${server.auth.type}": ` +
        "it gets its tokens by itself, with no sign-in and nothing stored",
    );
    return 2;
  }
  return server as ResolvedServer & { url: string; auth: OAuthSettings };
}

/**
 * `autonomous-mcp login SERVER`: the authorization-code flow with PKCE and a loopback redirect. The SDK
 * does discovery (from the server's 401 challenge), registration and the code exchange; we listen on
 * 127.0.0.1, print the URL, open a browser when there is one, and store the tokens encrypted.
 */
export async function login(loaded: LoadedConfig, name: string, io: LoginIo): Promise<number> {
  const server = oauthServer(loaded, name, "login", io.say);
  if (typeof server === "number") return server;
  const store = TokenStore.fromEnv(io.env);
  try {
    await authorizationCodeFlow(
      {
        server: name,
        url: server.url,
        settings: server.auth,
        headers: server.headers,
        connectTimeoutMs: server.connectTimeoutMs,
      },
      {
        store,
        now: Date.now,
        timeoutMs: io.timeoutMs,
        onAuthorizationUrl: (url, redirectUrl) => {
          io.say(`Sign in to "${name}" by opening this URL in a browser:`);
          io.say(`  ${url.href}`);
          const opened = io.browser && openBrowser(url.href, io.env, process.platform);
          io.say(`${opened ? "A browser was opened. " : ""}Waiting for the sign-in at ${redirectUrl} …`);
        },
      },
    );
    const entry = await store.get(name);
    if (!entry?.tokens) throw new Error("no token was stored");
    const expiry = entry.expiresAt ? `expires ${new Date(entry.expiresAt).toISOString()}` : "no expiry given";
    const refresh = entry.tokens.refresh_token
      ? "a refresh token is kept, so the aggregator renews the token by itself"
      : "no refresh token: run login again when it expires";
    io.say(`Logged in to "${name}": token ${expiry}; ${refresh}.`);
    io.say(`Stored encrypted in ${store.file} (key: ${store.keySource()}).`);
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const listen = code === "EADDRINUSE" || code === "EACCES"; // the loopback listener
    io.say(
      listen
        ? `autonomous-mcp login ${name}: cannot listen on 127.0.0.1:${server.auth.redirectPort ?? 0}: ${errorMessage(error)}`
        : `autonomous-mcp login ${name}: ${loginFailure(error)}`,
    );
    return 1;
  }
}

function loginFailure(error: unknown): string {
  const message = errorMessage(error);
  if (/dynamic client registration/i.test(message)) {
    return `${message}; set "auth": { "clientId": "…" } to a client id registered with the authorization server`;
  }
  return message;
}

/** `autonomous-mcp logout SERVER`: revokes the tokens at the authorization server when it offers that, and forgets them. */
export async function logout(
  loaded: LoadedConfig,
  name: string,
  io: Pick<LoginIo, "say" | "env">,
): Promise<number> {
  const server = oauthServer(loaded, name, "logout", io.say);
  if (typeof server === "number") return server;
  const store = TokenStore.fromEnv(io.env);
  const entry = await store.get(name);
  if (!entry) {
    io.say(`Not logged in to "${name}": nothing stored in ${store.file}.`);
    return 0;
  }
  const revoked = await revoke(entry, server.auth).catch(() => false);
  await store.remove(name);
  io.say(
    `Logged out of "${name}": tokens removed from ${store.file}` +
      (revoked
        ? " and revoked at the authorization server."
        : " (the authorization server was not asked to revoke them)."),
  );
  return 0;
}

/** RFC 7009: revoke the refresh token (which ends its access tokens too) when the metadata names an endpoint. */
async function revoke(
  entry: Awaited<ReturnType<TokenStore["get"]>> & object,
  settings: OAuthSettings,
): Promise<boolean> {
  const metadata = (
    entry.discovery as { authorizationServerMetadata?: { revocation_endpoint?: unknown } } | undefined
  )?.authorizationServerMetadata;
  const endpoint =
    typeof metadata?.revocation_endpoint === "string" ? metadata.revocation_endpoint : undefined;
  const token = entry.tokens?.refresh_token ?? entry.tokens?.access_token;
  const clientId = settings.clientId ?? entry.client?.client_id;
  if (!endpoint || !token || !clientId) return false;
  const body = new URLSearchParams({ token, client_id: clientId });
  if (settings.clientSecret) body.set("client_secret", settings.clientSecret);
  const res = await fetch(endpoint, { method: "POST", body, signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel().catch(() => undefined);
  return res.ok;
}
