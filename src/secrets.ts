import type { ResolvedServer } from "./config/load.js";

/** Values shorter than this are not treated as secrets (they would blank out ordinary words). */
const MIN_SECRET_LENGTH = 6;

/**
 * Every value that must never reach a log line: the config's env values and header values (after
 * expansion), credentials in URLs (user:password@, token-like query parameters), and Bearer tokens.
 */
export function collectSecrets(
  servers: readonly ResolvedServer[],
  extra: readonly (string | undefined)[] = [],
): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined): void => {
    if (v !== undefined && v.length >= MIN_SECRET_LENGTH) out.add(v);
  };
  for (const s of servers) {
    for (const v of Object.values(s.env)) add(v);
    for (const v of Object.values(s.headers)) {
      add(v);
      const bearer = /^(?:bearer|token|basic)\s+(.+)$/i.exec(v);
      add(bearer?.[1]);
    }
    if (s.url) {
      try {
        const u = new URL(s.url);
        add(u.password);
        add(u.username.length >= MIN_SECRET_LENGTH ? u.username : undefined);
        for (const [k, v] of u.searchParams) if (/key|token|secret|auth|pass|sig/i.test(k)) add(v);
      } catch {
        // not a URL: nothing to add
      }
    }
  }
  for (const v of extra) add(v);
  // Longest first, so a secret that contains another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces every known secret (and any Bearer token) in a string. */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  return (text) => {
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
    return out.replace(/(\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]{8,}/g, "$1[redacted]");
  };
}
