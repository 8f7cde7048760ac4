import path from "node:path";
import { issueLines } from "../config/problems.js";
import { serverEntrySchema } from "../config/serverSchema.js";

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
  /** Problems of one imported (or skipped) entry, by its final name. */
  readonly warnings: readonly { readonly server: string; readonly message: string }[];
  /** Notes about renames and merged duplicates (not problems). */
  readonly notes: readonly string[];
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
        warnings.push({ server: wanted, message: `(${where}) not an object, skipped` });
        continue;
      }
      const { entry, problems } = cleanEntry(raw);
      const earlier = seen.get(wanted) ?? [];
      if (earlier.some((e) => sameJson(e, entry))) {
        notes.push(`${wanted} (${where}): same entry as an earlier "${wanted}", imported once`);
        continue;
      }
      let name = wanted;
      for (let n = 2; taken.has(name); n++) name = `${wanted}-${n}`;
      if (name !== wanted) notes.push(`${wanted} (${where}): name already used, imported as "${name}"`);
      taken.add(name);
      seen.set(wanted, [...earlier, entry]);
      for (const message of problems) warnings.push({ server: name, message });
      servers.push({ name, entry });
    }
  }
  if (shape === "VS Code") {
    for (const s of servers) {
      const inputs = [...new Set(JSON.stringify(s.entry).match(/\$\{input:[^}]*\}/g) ?? [])];
      if (inputs.length > 0) {
        warnings.push({
          server: s.name,
          message: `${inputs.join(", ")} cannot be resolved outside VS Code and is kept as written; replace it with a value or a \${ENV_VAR} reference`,
        });
      }
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
    if (KNOWN_KEYS.has(key)) entry[key] = value;
    else if (key === "disabled" && typeof value === "boolean" && !("enabled" in raw))
      entry["enabled"] = !value;
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

/**
 * JSON with comments and trailing commas (VS Code writes mcp.json as JSONC) made plain JSON: comments
 * and commas before `}`/`]` removed outside strings; strings are copied untouched.
 */
export function stripJsonComments(text: string): string {
  const noComments = scan(text, (c, i, src) => {
    if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      return { skipTo: end === -1 ? src.length : end };
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      return { skipTo: end === -1 ? src.length : end + 2 };
    }
    return undefined;
  });
  return scan(noComments, (c, i, src) => {
    if (c !== ",") return undefined;
    let j = i + 1;
    while (/\s/.test(src[j] ?? "")) j++;
    return src[j] === "}" || src[j] === "]" ? { skipTo: i + 1 } : undefined;
  });
}

/** Copies `text`, letting `skip` drop a range at any position outside a string literal. */
function scan(
  text: string,
  skip: (c: string, i: number, src: string) => { skipTo: number } | undefined,
): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? "";
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const range = skip(c, i, text);
    if (range) {
      i = range.skipTo;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
