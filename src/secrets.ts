import type { ResolvedServer } from "./config/load.js";

/** Values shorter than this are not treated as secrets (they would blank out ordinary words). */
const MIN_SECRET_LENGTH = 6;

/**
 * Appended where a text was cut to a length bound (a child's over-long stderr line, a dropped stdout
 * line's excerpt): the scrubber also redacts a secret's beginning left right before it.
 */
export const CUT_MARK = "…[cut]";

/** `text` cut to at most `max` characters, CUT_MARK appended when something was cut off. */
export function cutText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}${CUT_MARK}`;
}

/**
 * Every value that must never reach a log line: the config's env values and header values (after
 * expansion), credentials in URLs (user:password@, token-like query parameters), and Bearer tokens.
 * A multi-line value counts line by line too (a child writes it to stderr, which is logged per line).
 */
export function collectSecrets(
  servers: readonly ResolvedServer[],
  extra: readonly (string | undefined)[] = [],
): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined): void => {
    if (v === undefined || v.length < MIN_SECRET_LENGTH) return;
    out.add(v);
    if (/[\r\n]/.test(v))
      for (const line of v.split(/\r?\n|\r/))
        if (line.trim().length >= MIN_SECRET_LENGTH) out.add(line.trim());
  };
  for (const s of servers) {
    for (const v of Object.values(s.env)) add(v);
    add(s.auth?.clientSecret);
    add(s.auth?.privateKey);
    add(s.auth?.idp?.clientSecret);
    add(s.auth?.idp?.idToken);
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

/** A string's form inside a JSON string literal (what a log line holds): `"` → `\"`, `\` → `\\`, … */
const jsonEscaped = (s: string): string => JSON.stringify(s).slice(1, -1);

/**
 * The forms a secret can take in a line: as written, JSON-escaped (a log field), and escaped twice (a
 * JSON text quoted in a log field, e.g. an error message holding a JSON-RPC body).
 */
function formsOf(secret: string): string[] {
  const once = jsonEscaped(secret);
  return once === secret ? [secret] : [secret, once, jsonEscaped(once)];
}

/**
 * Replaces every known secret (in each of its forms, and any Bearer token) in a string. Where a text
 * was cut (CUT_MARK), a secret's beginning just before the cut is replaced too.
 */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = [...new Set(secrets.flatMap(formsOf))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join("[redacted]");
    if (out.includes(CUT_MARK)) out = redactBeforeCuts(out, forms);
    return redactCredentials(out);
  };
}

/** Before each CUT_MARK: the longest beginning of any secret form that ends there becomes [redacted]. */
function redactBeforeCuts(text: string, forms: readonly string[]): string {
  let out = "";
  let from = 0;
  for (let at = text.indexOf(CUT_MARK); at !== -1; at = text.indexOf(CUT_MARK, at + CUT_MARK.length)) {
    let longest = 0;
    for (const form of forms)
      for (let k = Math.min(form.length - 1, at - from); k > longest; k--)
        if (form.charCodeAt(k - 1) === text.charCodeAt(at - 1) && text.startsWith(form.slice(0, k), at - k)) {
          longest = k;
          break;
        }
    out += `${text.slice(from, at - longest)}${longest > 0 ? "[redacted]" : ""}${CUT_MARK}`;
    from = at + CUT_MARK.length;
  }
  return out + text.slice(from);
}

/** `Bearer|Basic|Token <credential>` (HTTP auth schemes), the scheme kept. */
const AUTH_SCHEME = /(\b(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+)[A-Za-z0-9._~+/=-]{8,}/g;
/** `scheme://user:password@` or `scheme://token@` in a URL. */
const URL_USERINFO = /(\b[A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/g;
/** A URL query parameter whose name says it is a credential. */
const SECRET_QUERY =
  /([?&][^=&\s#"']*(?:key|token|secret|auth|pass|sig|verifier)[^=&\s#"']*=|[?&]code=)[^&\s#"']+/gi;
/** OAuth token-endpoint JSON: `"access_token": "…"`, `"refresh_token"`, `"id_token"`, `"client_secret"`, `"code_verifier"`. */
const OAUTH_JSON = /("(?:access_token|refresh_token|id_token|client_secret|code_verifier)"\s*:\s*")[^"]+/g;
/** Well-known token shapes: GitHub, OpenAI/Anthropic-style sk-, Slack, AWS access keys, GitLab, Postman, JWTs. */
const KNOWN_TOKENS =
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{16,}|PMAK-[A-Za-z0-9-]{16,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g;

/**
 * Credentials recognised by their shape, whoever wrote them: HTTP auth schemes, user info in URLs,
 * credential-named query parameters, and well-known token formats. Applied to every log line and to
 * every error text shown to clients.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(AUTH_SCHEME, "$1[redacted]")
    .replace(URL_USERINFO, "$1[redacted]@")
    .replace(SECRET_QUERY, "$1[redacted]")
    .replace(OAUTH_JSON, "$1[redacted]")
    .replace(KNOWN_TOKENS, "[redacted]");
}

/** `key: value` / `key=value` / `"key":"value"` where the key names a credential. */
const SECRET_ASSIGNMENT =
  /((?:api[_-]?key|apikey|access[_-]?key|secret|password|passwd|token|authorization|credentials?)["']?\s*[:=]\s*["']?)(?!\[redacted\]|(?:bearer|basic|token)\s)[^\s"',;&)}\]]{4,}/gi;
/** Long opaque runs of letters and digits (hex or base64 tokens, ids): 24 characters or more. */
const OPAQUE =
  /(?<![A-Za-z0-9_+=-])(?=[A-Za-z0-9_+=-]*[0-9])(?=[A-Za-z0-9_+=-]*[A-Za-z])[A-Za-z0-9_+=-]{24,}/g;
/** Longest error text shown to clients. */
const MAX_SHOWN = 300;

/**
 * Error text fit to show to every client (the `status` tool): known secrets and recognised credentials
 * removed, then anything assigned to a credential-named key and every long opaque token-like run, cut
 * to 300 characters. Stricter than log scrubbing: the full text stays in the operator's log.
 */
export function scrubForClients(text: string, secrets: readonly string[] = []): string {
  let out = createScrubber(secrets)(text)
    .replace(SECRET_ASSIGNMENT, "$1[redacted]")
    .replace(OPAQUE, "[redacted]");
  if (out.length > MAX_SHOWN) out = `${out.slice(0, MAX_SHOWN - 1)}…`;
  return out;
}
