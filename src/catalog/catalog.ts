import type {
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from "@modelcontextprotocol/server";
import { UriTemplate } from "@modelcontextprotocol/server";
import type { DownstreamCatalog } from "../downstream/listing.js";
import type { ToolRoute } from "./routes.js";
import { namespacedUiUri, parseUiUri, UI_SCHEME, withAppUris } from "./apps.js";
import { AbsentNames, NO_ABSENT, type AbsentOwner, type AbsentServer } from "./absent.js";
import { assignNames, isExact, publicName, type NameCandidate, type NameRules } from "./names.js";
import {
  actedAnnotations,
  effectiveAnnotations,
  globMatcher,
  hintsOf,
  policyFor,
  type CatalogServerView,
} from "./policy.js";

/** A tool the aggregator serves itself (meta-tools, workflows). */
export interface BuiltinTool {
  readonly definition: Tool;
  readonly kind: "meta" | "workflow";
}

export type ToolTarget =
  | { readonly kind: "downstream"; readonly route: ToolRoute; readonly definition: Tool }
  | { readonly kind: "meta" | "workflow"; readonly name: string; readonly definition: Tool };

export interface PromptRoute {
  readonly server: string;
  readonly originalName: string;
}

export interface ResourceRoute {
  readonly server: string;
  readonly uri: string;
}

export interface CatalogSource {
  readonly server: CatalogServerView;
  readonly catalog: DownstreamCatalog;
  /** The server's position in the config file: the earlier keeps a name two servers claim equally. */
  readonly order?: number;
}

export interface CatalogOptions extends NameRules {
  /** Global switch: expose only read-only tools. */
  readonly readOnly: boolean;
  /** "search": tools/list shows only built-in tools; every tool stays callable by name. */
  readonly exposure?: "all" | "search";
  /** Configured servers whose tools are not listed (skipped, starting, failed before listing). */
  readonly absent?: readonly AbsentServer[];
}

export interface CatalogWarning {
  readonly message: string;
}

/** Where a resource URI that two servers both expose goes for the second one (documented scheme). */
export function rewrittenResourceUri(server: string, uri: string): string {
  return `autonomous-mcp://${encodeURIComponent(server)}/${encodeURIComponent(uri)}`;
}

/**
 * The single source of truth for names: public name → route, built from the servers' lists in one pass
 * and replaced whole on every change (readers never see a half-built catalog).
 */
export class Catalog {
  readonly tools = new Map<string, ToolTarget>();
  readonly toolList: Tool[] = [];
  readonly prompts = new Map<string, PromptRoute>();
  readonly promptList: Prompt[] = [];
  readonly resources = new Map<string, ResourceRoute>();
  readonly resourceList: Resource[] = [];
  readonly templateList: ResourceTemplate[] = [];
  readonly warnings: CatalogWarning[] = [];
  /** uriTemplate string → owning server (completion/complete with ref/resource). */
  readonly templateOwners = new Map<string, string>();
  private readonly templates: { server: string; matcher: UriTemplate }[] = [];
  /** Every server with lists in this catalog (the owners a namespaced `ui://` URI may name). */
  private readonly servers = new Set<string>();
  /** "server\0original URI" → the URI clients see, for the URIs exposed under another one. */
  private readonly publicUris = new Map<string, string>();
  private readonly absent: AbsentNames;

  constructor(sources: readonly CatalogSource[], builtins: readonly BuiltinTool[], options: CatalogOptions) {
    this.absent =
      options.absent && options.absent.length > 0 ? new AbsentNames(options.absent, options) : NO_ABSENT;
    this.buildTools(sources, builtins, options);
    this.buildPrompts(sources, options);
    this.buildResources(sources);
  }

  resolveTool(name: string): ToolTarget | undefined {
    return this.tools.get(name);
  }

  /** For a name that is not a tool: the configured server that would serve it but is not listed. */
  resolveAbsent(name: string): AbsentOwner | undefined {
    return this.absent.owner(name);
  }

  resolvePrompt(name: string): PromptRoute | undefined {
    return this.prompts.get(name);
  }

  /**
   * Exact URI from a list, else a namespaced `ui://` URI of a server here (an app resource need not be
   * listed), else the first server whose template matches.
   */
  resolveResource(uri: string): ResourceRoute | undefined {
    const exact = this.resources.get(uri);
    if (exact) return exact;
    const app = parseUiUri(uri);
    if (app && this.servers.has(app.server)) return app;
    for (const t of this.templates) if (t.matcher.match(uri)) return { server: t.server, uri };
    return undefined;
  }

  /** The URI clients know `server`'s resource `uri` by (resources/updated goes out under it). */
  publicUri(server: string, uri: string): string {
    return (
      this.publicUris.get(`${server}\u0000${uri}`) ??
      (uri.startsWith(UI_SCHEME) ? namespacedUiUri(server, uri) : uri)
    );
  }

  /** Public names of one server's tools (for status and reload diffs). */
  toolsOf(server: string): string[] {
    const names: string[] = [];
    for (const [name, t] of this.tools)
      if (t.kind === "downstream" && t.route.server === server) names.push(name);
    return names;
  }

  private buildTools(
    sources: readonly CatalogSource[],
    builtins: readonly BuiltinTool[],
    options: CatalogOptions,
  ): void {
    type Item = { def: Tool; owner: string; target: (name: string, def: Tool) => ToolTarget };
    const candidates: NameCandidate<Item>[] = builtins.map((b) => ({
      wanted: b.definition.name,
      identity: `\u0000${b.kind}\u0000${b.definition.name}`,
      builtin: true,
      item: {
        def: b.definition,
        owner: `the aggregator's ${b.kind === "meta" ? "meta-tool" : "workflow"}`,
        target: (name, def) => ({ kind: b.kind, name: b.definition.name, definition: def }),
      },
    }));
    for (const { server, catalog, order } of sources) {
      const allow = globMatcher(server.tools.allow);
      const deny = globMatcher(server.tools.deny);
      for (const tool of this.named(server.name, "tool", catalog.tools)) {
        if (server.tools.allow.length > 0 && !allow(tool.name)) continue;
        if (deny(tool.name)) continue;
        const annotations = effectiveAnnotations(tool, server);
        const acted = actedAnnotations(tool, server);
        if ((server.readOnly || options.readOnly) && !hintsOf(acted).readOnly) continue;
        const policy = policyFor(tool, acted, server);
        const description = server.tools.overrides[tool.name]?.description;
        const def: Tool = withAppUris(
          {
            ...tool,
            ...(description === undefined ? {} : { description }),
            ...(annotations === undefined ? {} : { annotations }),
          },
          server.name,
        );
        candidates.push({
          ...this.nameClaim(server, tool.name, options, order, "tool"),
          item: {
            def,
            owner: server.name,
            target: (name, d) => ({
              kind: "downstream",
              definition: d,
              route: {
                publicName: name,
                server: server.name,
                originalName: tool.name,
                inputSchema: (tool.inputSchema ?? { type: "object" }) as Record<string, unknown>,
                policy,
              },
            }),
          },
        });
      }
    }
    for (const assigned of assignNames(candidates, options.maxLength)) {
      const definition =
        assigned.name === assigned.item.def.name
          ? assigned.item.def
          : { ...assigned.item.def, name: assigned.name };
      const target = assigned.item.target(assigned.name, definition);
      this.tools.set(assigned.name, target);
      if (options.exposure !== "search" || target.kind !== "downstream") this.toolList.push(definition);
      const kept = assigned.collidedWith;
      if (kept !== undefined) {
        this.warnings.push({
          message: `tool name collision: ${assigned.item.owner}'s "${assigned.item.def.name}" is exposed as "${assigned.name}"; the name it wanted belongs to ${kept.owner}'s "${kept.def.name}" (docs/adr/0001-naming-scheme.md)`,
        });
      }
    }
  }

  private buildPrompts(sources: readonly CatalogSource[], options: CatalogOptions): void {
    const candidates: NameCandidate<{ prompt: Prompt; server: string }>[] = [];
    for (const { server, catalog, order } of sources) {
      for (const prompt of this.named(server.name, "prompt", catalog.prompts)) {
        candidates.push({
          ...this.nameClaim(server, prompt.name, options, order, "prompt"),
          item: { prompt, server: server.name },
        });
      }
    }
    for (const a of assignNames(candidates, options.maxLength)) {
      this.prompts.set(a.name, { server: a.item.server, originalName: a.item.prompt.name });
      this.promptList.push(
        a.name === a.item.prompt.name ? a.item.prompt : { ...a.item.prompt, name: a.name },
      );
      if (a.collidedWith !== undefined) {
        this.warnings.push({
          message: `prompt name collision: ${a.item.server}'s "${a.item.prompt.name}" is exposed as "${a.name}"; the name it wanted belongs to ${a.collidedWith.server}'s "${a.collidedWith.prompt.name}"`,
        });
      }
    }
  }

  /** Items with a usable name; each server that sent nameless ones gets a warning (they cannot be called). */
  private named<T extends { name?: unknown }>(server: string, kind: string, items: readonly T[]): T[] {
    const ok = items.filter((i) => typeof i.name === "string" && i.name.length > 0);
    const dropped = items.length - ok.length;
    if (dropped > 0)
      this.warnings.push({
        message: `${server}: dropped ${dropped} ${kind}${dropped === 1 ? "" : "s"} with an empty or missing name`,
      });
    return ok;
  }

  /** A downstream name's claim (names.ts) and a warning when it is not exposed as written. */
  private nameClaim(
    server: CatalogServerView,
    original: string,
    rules: NameRules,
    order: number | undefined,
    kind: string,
  ): Omit<NameCandidate<never>, "item"> {
    const wanted = publicName(server.prefix, original, rules);
    const exact = isExact(server.prefix, original, rules, wanted);
    if (!exact) {
      const joined = server.prefix === "" ? original : `${server.prefix}${rules.separator}${original}`;
      const why = [
        ...(/[^a-zA-Z0-9_-]/.test(joined) ? ["characters clients reject were replaced"] : []),
        ...(joined.length > rules.maxLength ? [`shortened to maxToolNameLength ${rules.maxLength}`] : []),
      ].join("; ");
      this.warnings.push({
        message: `${server.name}: ${kind} "${original}" is exposed as "${wanted}" (${why})`,
      });
    }
    return {
      wanted,
      identity: `${server.name}\u0000${original}`,
      exact,
      prefixLength: server.prefix === "" ? 0 : server.prefix.length,
      ...(order === undefined ? {} : { order }),
    };
  }

  private buildResources(sources: readonly CatalogSource[]): void {
    const ordered = [...sources].sort((a, b) => (a.server.name < b.server.name ? -1 : 1));
    for (const { server, catalog } of ordered) {
      this.servers.add(server.name);
      for (const resource of catalog.resources) {
        let uri = resource.uri.startsWith(UI_SCHEME)
          ? namespacedUiUri(server.name, resource.uri)
          : resource.uri;
        if (this.resources.has(uri)) {
          uri = rewrittenResourceUri(server.name, resource.uri);
          this.warnings.push({
            message: `resource URI collision: ${resource.uri} from ${server.name} exposed as ${uri}`,
          });
        }
        this.resources.set(uri, { server: server.name, uri: resource.uri });
        if (uri !== resource.uri) this.publicUris.set(`${server.name}\u0000${resource.uri}`, uri);
        this.resourceList.push(uri === resource.uri ? resource : { ...resource, uri });
      }
      for (const template of catalog.resourceTemplates) {
        try {
          this.templates.push({ server: server.name, matcher: new UriTemplate(template.uriTemplate) });
          this.templateList.push(template);
          if (!this.templateOwners.has(template.uriTemplate))
            this.templateOwners.set(template.uriTemplate, server.name);
        } catch {
          this.warnings.push({
            message: `${server.name}: unparseable resource template ${template.uriTemplate}`,
          });
        }
      }
    }
  }
}
