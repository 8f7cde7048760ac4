import { publicName, sanitize, type NameRules } from "./names.js";
import { globMatcher, hintsOf, type ToolOverrideView } from "./policy.js";

/**
 * A configured server whose tools are not in the catalog (skipped, disabled, still starting, or failed
 * before it ever listed them): what we know of the names its tools would have.
 */
export interface AbsentServer {
  readonly name: string;
  readonly prefix: string;
  readonly readOnly: boolean;
  readonly tools: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** The tools its built-in profile knows (src/profiles), if it has one. */
  readonly known?: Readonly<Record<string, ToolOverrideView>> | undefined;
}

export interface AbsentOwner {
  readonly server: string;
  /** The server's own tool name, when the profile knows it. */
  readonly tool?: string;
}

/**
 * Public name → the absent server that would serve it. Built with the catalog. Two lookups, no name
 * parsing: the exact public names of the profile's known tools, then the server prefixes — the name's
 * candidate prefixes (each place the separator occurs) are looked up in a map of `<prefix>` keys, and
 * the longest known one wins.
 */
export class AbsentNames {
  private readonly exact = new Map<string, AbsentOwner>();
  private readonly byPrefix = new Map<string, string>();

  constructor(
    servers: readonly AbsentServer[],
    private readonly rules: NameRules & { readonly readOnly: boolean },
  ) {
    for (const s of servers) {
      if (s.prefix !== "") this.byPrefix.set(sanitize(s.prefix), s.name);
      if (!s.known) continue;
      const allow = globMatcher(s.tools.allow);
      const deny = globMatcher(s.tools.deny);
      for (const [tool, view] of Object.entries(s.known)) {
        if (s.tools.allow.length > 0 && !allow(tool)) continue;
        if (deny(tool)) continue;
        if ((s.readOnly || rules.readOnly) && !hintsOf(view.annotations).readOnly) continue;
        const name = publicName(s.prefix, tool, rules);
        if (!this.exact.has(name)) this.exact.set(name, { server: s.name, tool });
      }
    }
  }

  get size(): number {
    return this.exact.size + this.byPrefix.size;
  }

  /** The absent server a public name belongs to, if any. */
  owner(name: string): AbsentOwner | undefined {
    const known = this.exact.get(name);
    if (known) return known;
    if (this.byPrefix.size === 0) return undefined;
    const sep = this.rules.separator;
    let found: string | undefined;
    // Every cut where the separator follows a non-empty head (`<prefix><sep><tool>`, tool non-empty).
    for (let i = 1; i + sep.length < name.length; i++) {
      if (sep !== "" && !name.startsWith(sep, i)) continue;
      const server = this.byPrefix.get(name.slice(0, i));
      if (server !== undefined) found = server;
    }
    return found === undefined ? undefined : { server: found };
  }
}

export const NO_ABSENT = new AbsentNames([], { separator: "_", maxLength: 64, readOnly: false });
