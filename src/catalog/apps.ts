import type { Tool } from "@modelcontextprotocol/server";

/**
 * MCP Apps (the `io.modelcontextprotocol/ui` extension): a tool names the HTML app that renders it with a
 * `ui://` resource URI in `_meta.ui.resourceUri` (or the legacy flat key `_meta["ui/resourceUri"]`). Two
 * servers may well both have `ui://dashboard/index.html`, so every `ui://` URI a server uses is exposed
 * under its server's name: `ui://<encodeURIComponent(server)>/<the rest of the original URI>`. The mapping
 * depends only on (server, URI), is reversible, and resources/read of the namespaced URI goes back to the
 * owner with its original URI (Catalog.resolveResource). The resource's contents are passed verbatim
 * (only `contents[].uri` is given the namespaced URI back).
 */
export const UI_SCHEME = "ui://";
/** The legacy flat key some servers (and hosts) still use beside `_meta.ui.resourceUri`. */
export const LEGACY_UI_KEY = "ui/resourceUri";

/** The namespaced URI under which `server`'s `ui://` URI is exposed. */
export function namespacedUiUri(server: string, uri: string): string {
  return `${UI_SCHEME}${encodeURIComponent(server)}/${uri.slice(UI_SCHEME.length)}`;
}

/** The server and original URI of a namespaced `ui://` URI (undefined for any other URI). */
export function parseUiUri(uri: string): { readonly server: string; readonly uri: string } | undefined {
  if (!uri.startsWith(UI_SCHEME)) return undefined;
  const rest = uri.slice(UI_SCHEME.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  try {
    return { server: decodeURIComponent(rest.slice(0, slash)), uri: UI_SCHEME + rest.slice(slash + 1) };
  } catch {
    return undefined; // a malformed %-escape: no server of ours
  }
}

function isUi(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(UI_SCHEME);
}

/**
 * The tool with its app URIs (`_meta.ui.resourceUri`, `_meta["ui/resourceUri"]`) namespaced; everything
 * else in `_meta.ui` (`visibility`, …) kept. The same object when the tool has no app.
 */
export function withAppUris(tool: Tool, server: string): Tool {
  const meta = tool._meta;
  if (meta === undefined) return tool;
  const ui = meta["ui"] as Record<string, unknown> | undefined;
  const nested = typeof ui === "object" && ui !== null && isUi(ui["resourceUri"]);
  const flat = isUi(meta[LEGACY_UI_KEY]);
  if (!nested && !flat) return tool;
  const next: Record<string, unknown> = { ...meta };
  if (nested) next["ui"] = { ...ui, resourceUri: namespacedUiUri(server, ui["resourceUri"] as string) };
  if (flat) next[LEGACY_UI_KEY] = namespacedUiUri(server, meta[LEGACY_UI_KEY] as string);
  return { ...tool, _meta: next };
}
