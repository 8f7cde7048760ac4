import path from "node:path";
import { convertPlaceholders, lintEntry } from "../config/lint.js";
import { issueLines } from "../config/problems.js";
import { serverEntrySchema } from "../config/serverSchema.js";
import { isObject } from "../jsonrpc/isObject.js";

/**
 * The pure half of `autonomous-mcp import`: which client wrote a config file, and its server entries
 * in a deterministic order, renamed where Claude Code projects reuse a name. No IO here.
 */

export type ConfigShape = "Claude Desktop" | "Claude Code" | "Cursor" | "VS Code";

export type JsonObject = Record<string, unknown>;

export interface ImportedServer {
  readonly name: string;
  readonly entry: JsonObject;
}

export interface Extraction {
  readonly shape: ConfigShape;
  readonly servers: readonly ImportedServer[];
  /**
   * Problems of one imported (or skipped) entry, by its final name; `message` is a whole line
   * (`github: dropped keys ...`, `mcpServers.github.env.TOKEN: ...`).
   */
  readonly warnings: readonly { readonly server: string; readonly message: string }[];
  /** Notes about renames, merged duplicates and converted placeholders (not problems). */
  readonly notes: readonly string[];
}

/** Which client wrote `doc`, from its keys and, for the two plain `mcpServers` shapes, the file's path. */
export function detectShape(doc: JsonObject, file: string): ConfigShape | undefined {
  if (isObject(doc["servers"]) || (isObject(doc["mcp"]) && isObject(doc["mcp"]["servers"]))) return "VS Code";
  if (isObject(doc["projects"]) || path.basename(file) === ".mcp.json") return "Claude Code";
  if (!isObject(doc["mcpServers"])) return undefined;
  return /(?:^|[\\/])\.cursor[\\/]/.test(path.resolve(file)) ? "Cursor" : "Claude Desktop";
}

/** The server entries of a config of the given shape, in file order (Claude Code: user scope, then projects by path). */
export function extractServers(doc: JsonObject, shape: ConfigShape): Extraction {
  const warnings: { server: string; message: string }[] = [];
  const notes: string[] = [];
  const groups: { where: string; map: unknown }[] = [];
  if (shape === "VS Code") {
    const settings = isObject(doc["mcp"]) ? doc["mcp"] : undefined;
    groups.push({ where: "servers", map: doc["servers"] ?? settings?.["servers"] });
  } else {
    groups.push({ where: "mcpServers", map: doc["mcpServers"] });
  }
  if (shape === "Claude Code" && isObject(doc["projects"])) {
    const projects = doc["projects"];
    for (const project of Object.keys(projects).sort()) {
      const p = projects[project];
      if (isObject(p)) groups.push({ where: `project ${project}`, map: p["mcpServers"] });
    }
  }

  const servers: ImportedServer[] = [];
  const taken = new Set<string>();
  const seen = new Map<string, JsonObject[]>();
  for (const { where, map } of groups) {
    if (!isObject(map)) continue;
    for (const [wanted, raw] of Object.entries(map)) {
      if (!isObject(raw)) {
        warnings.push({ server: wanted, message: `${wanted}: (${where}) not an object, skipped` });
        continue;
      }
      const cleaned = cleanEntry(raw);
      const earlier = seen.get(wanted) ?? [];
      if (earlier.some((e) => sameJson(e, cleaned.entry))) {
        notes.push(`${wanted} (${where}): same entry as an earlier "${wanted}", imported once`);
        continue;
      }
      let name = wanted;
      for (let n = 2; taken.has(name); n++) name = `${wanted}-${n}`;
      if (name !== wanted) notes.push(`${wanted} (${where}): name already used, imported as "${name}"`);
      taken.add(name);
      seen.set(wanted, [...earlier, cleaned.entry]);
      for (const message of cleaned.problems) warnings.push({ server: name, message: `${name}: ${message}` });
      const at = ["mcpServers", name];
      const { entry, notes: converted } = convertPlaceholders(cleaned.entry, at);
      notes.push(...converted);
      const lint = lintEntry(name, entry, at);
      for (const line of lint.errors)
        warnings.push({
          server: name,
          message: `${line}; validate and serve refuse it until it is replaced`,
        });
      for (const line of lint.warnings) warnings.push({ server: name, message: line });
      servers.push({ name, entry });
    }
  }
  return { shape, servers, warnings, notes };
}

const KNOWN_KEYS = new Set(Object.keys(serverEntrySchema.shape));

/** Keys our schema knows are copied verbatim; `disabled: true` becomes `enabled: false`; others are dropped. */
function cleanEntry(raw: JsonObject): { entry: JsonObject; problems: string[] } {
  const entry: JsonObject = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === "disabled" && typeof value === "boolean" && !("enabled" in raw)) entry["enabled"] = !value;
    else if (KNOWN_KEYS.has(key)) entry[key] = value;
    else dropped.push(key);
  }
  const problems =
    dropped.length > 0 ? [`dropped keys autonomous-mcp does not use: ${dropped.join(", ")}`] : [];
  const parsed = serverEntrySchema.safeParse(entry);
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap(issueLines));
  return { entry, problems };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
