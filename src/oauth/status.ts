import { errorMessage } from "../errors.js";
import type { TokenStore } from "./store.js";

/** What doctor shows of a server's authentication: the kind and the token's state, never the token. */
export interface AuthStatus {
  /** oauth (the `auth` block), client_credentials (a machine client), header (a static Authorization header), none. */
  readonly kind: "oauth" | "client_credentials" | "cross_app_access" | "header" | "none";
  /** oauth only. */
  readonly token?: "none" | "valid" | "expired" | "unreadable";
  /** oauth: a refresh token is stored, so an expired access token is renewed without a new login. */
  readonly refreshAvailable?: boolean;
  /** oauth: when the access token expires (ISO time), if the authorization server said. */
  readonly expiresAt?: string;
  /** oauth, token "unreadable": why. */
  readonly problem?: string;
}

export interface AuthSubject {
  readonly name: string;
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth?: { readonly type: "oauth" | "client_credentials" | "cross_app_access" } | undefined;
}

export async function authStatus(s: AuthSubject, store: TokenStore, now: number): Promise<AuthStatus> {
  if (!s.auth) {
    const header = Object.keys(s.headers).some((k) => k.toLowerCase() === "authorization");
    return { kind: header ? "header" : "none" };
  }
  // A machine client gets its token by itself at connect time: nothing is stored, nothing to show.
  if (s.auth.type !== "oauth") return { kind: s.auth.type };
  let entry;
  try {
    entry = await store.get(s.name);
  } catch (error) {
    return { kind: "oauth", token: "unreadable", problem: errorMessage(error) };
  }
  if (!entry?.tokens || entry.url !== s.url) return { kind: "oauth", token: "none" };
  const expired = entry.expiresAt !== undefined && entry.expiresAt <= now;
  return {
    kind: "oauth",
    token: expired ? "expired" : "valid",
    refreshAvailable: entry.tokens.refresh_token !== undefined,
    ...(entry.expiresAt !== undefined ? { expiresAt: new Date(entry.expiresAt).toISOString() } : {}),
  };
}

/** One cell: "oauth: valid until 2026-…Z, refresh available", "oauth: none", "header", "-". */
export function authCell(a: AuthStatus | undefined): string {
  if (!a || a.kind === "none") return "-";
  if (a.kind === "header") return "header";
  if (a.kind === "client_credentials") return "client credentials";
  if (a.kind === "cross_app_access") return "cross-app access";
  const until = a.expiresAt ? ` until ${a.expiresAt}` : "";
  const refresh = a.refreshAvailable ? ", refresh available" : "";
  return a.token === "none" || a.token === "unreadable"
    ? `oauth: ${a.token}`
    : `oauth: ${a.token ?? ""}${until}${refresh}`;
}
