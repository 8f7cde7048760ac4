import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { expandString, type EnvSource } from "../config/expand.js";
import type { HttpSettings } from "../config/load.js";
import { AggregatorError } from "../errorCore.js";

/**
 * Who is calling the HTTP front. A principal is a name and a bearer token from the config
 * (`http.principals`), plus "default" for the token of --auth-token / AUTONOMOUS_MCP_TOKEN. A front
 * without any token has one principal, "anonymous", shared by every client: nothing else tells its
 * clients apart that a client could not fake, and such a front listens on loopback only.
 */
export interface Principal {
  readonly name: string;
  /** Sessions this principal may hold at once. */
  readonly maxSessions: number;
}

/** A principal with its token, as resolved from the config; the token never leaves this module but for scrubbing. */
export interface ResolvedPrincipal extends Principal {
  readonly token: string;
}

export const ANONYMOUS = "anonymous";
/** The principal of --auth-token / AUTONOMOUS_MCP_TOKEN. */
export const DEFAULT_PRINCIPAL = "default";
/** Shortest token accepted in http.principals (after ${VAR} expansion). */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The principals of the HTTP front: the config's (tokens ${VAR}-expanded) and the CLI token's. Throws
 * CONFIG_INVALID naming every problem (a token that is unset, short or shared, a duplicate name); the
 * problems never contain a token.
 */
export function resolvePrincipals(
  http: Pick<HttpSettings, "principals" | "maxSessions" | "maxSessionsPerPrincipal">,
  authToken: string | undefined,
  env: EnvSource = process.env,
  /** Prefix of every problem line (the config file's name). */
  source?: string,
): ResolvedPrincipal[] {
  const problems: string[] = [];
  const specs: { name: string; token: string; maxSessions?: number | undefined }[] = [];
  if (authToken) specs.push({ name: DEFAULT_PRINCIPAL, token: authToken });
  http.principals.forEach((p, i) => {
    const at = `http.principals[${i}]`;
    const { value, unresolved } = expandString(p.token, env);
    if (unresolved.length > 0)
      problems.push(`${at}.token: ${unresolved.map((v) => `\${${v}}`).join(", ")} is not set`);
    else if (value.length < MIN_TOKEN_LENGTH)
      problems.push(`${at}.token: must be at least ${MIN_TOKEN_LENGTH} characters`);
    if (specs.some((s) => s.name === p.name))
      problems.push(
        `${at}.name: "${p.name}" is used twice${p.name === DEFAULT_PRINCIPAL && authToken ? " (the --auth-token / AUTONOMOUS_MCP_TOKEN principal is named default)" : ""}`,
      );
    else if (value !== "" && specs.some((s) => s.token === value))
      problems.push(
        `${at}.token: the same token as principal "${specs.find((s) => s.token === value)?.name}"`,
      );
    specs.push({ name: p.name, token: value, maxSessions: p.maxSessions });
  });
  if (problems.length > 0) {
    const lines = problems.map((p) => (source ? `${source}: ${p}` : p));
    throw new AggregatorError("CONFIG_INVALID", lines.join("\n"), { details: { problems: lines } });
  }
  const share = Math.max(1, Math.floor(http.maxSessions / Math.max(1, specs.length)));
  const cap = http.maxSessionsPerPrincipal ?? share;
  return specs.map((s) => ({ name: s.name, token: s.token, maxSessions: s.maxSessions ?? cap }));
}

/** The expanded tokens of http.principals (for log scrubbing); unset references are skipped, nothing throws. */
export function principalTokens(
  http: Pick<HttpSettings, "principals">,
  env: EnvSource = process.env,
): string[] {
  return http.principals.map((p) => expandString(p.token, env).value).filter((t) => t !== "");
}

/** Maps a request's bearer token to its principal in constant time per principal. */
export class PrincipalAuth {
  private readonly entries: readonly { readonly digest: Buffer; readonly principal: Principal }[];
  private readonly anonymous: Principal | undefined;

  /** No principals: every request is the "anonymous" principal, which may hold `maxSessions`. */
  constructor(principals: readonly ResolvedPrincipal[], maxSessions: number) {
    this.entries = principals.map((p) => ({
      digest: sha256(p.token),
      principal: Object.freeze({ name: p.name, maxSessions: p.maxSessions }),
    }));
    this.anonymous =
      principals.length === 0
        ? Object.freeze({ name: ANONYMOUS, maxSessions: Math.max(1, maxSessions) })
        : undefined;
  }

  /** True when requests must carry a bearer token. */
  get secured(): boolean {
    return this.anonymous === undefined;
  }

  get names(): readonly string[] {
    return this.anonymous ? [this.anonymous.name] : this.entries.map((e) => e.principal.name);
  }

  /** The request's principal, or undefined when its bearer token is missing or unknown. */
  identify(req: IncomingMessage): Principal | undefined {
    if (this.anonymous) return this.anonymous;
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match?.[1]) return undefined;
    // Hashing first makes each comparison independent of the token's length; every entry is compared.
    const given = sha256(match[1]);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(given, e.digest)) found = e.principal;
    return found;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
