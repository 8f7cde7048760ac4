import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { applyEdits, findNodeAtLocation, modify, parseTree } from "jsonc-parser";
import { parseJsonc } from "../config/jsonc.js";
import { errorMessage } from "../errors.js";
import { isObject } from "../jsonrpc/isObject.js";
import { detectShape, extractServers, type ImportedServer, type JsonObject } from "./importShapes.js";

export interface ImportOptions {
  /** The client's config file (Claude Desktop, Claude Code, Cursor or VS Code). */
  readonly file: string;
  /** Where to write. Default "./servers.config.json" (relative paths against the process's cwd). */
  readonly out?: string | undefined;
  /** Add servers to an existing out file instead of refusing to overwrite it. */
  readonly merge: boolean;
  /** One line of output each (the CLI sends them to stderr). */
  readonly say: (line: string) => void;
  /** Writes the out file. Default: fs.writeFile, a new file with mode 0600 (it may hold secrets). */
  readonly write?: ((file: string, text: string) => Promise<void>) | undefined;
}

export const DEFAULT_IMPORT_OUT = "servers.config.json";

const BAD_INPUT = 2;

/**
 * `autonomous-mcp import FILE [--out FILE] [--merge]`: copies another client's MCP server entries into a
 * servers.config.json. Never overwrites: without --merge an existing out file is refused; with --merge
 * only names not yet present are added and every other key is kept as it was. Exit code 0 or 2.
 */
export async function importConfig(opts: ImportOptions): Promise<number> {
  const { say } = opts;
  const out = path.resolve(opts.out ?? DEFAULT_IMPORT_OUT);
  const input = await readJson(opts.file, say);
  if (input === undefined) return BAD_INPUT;
  const doc = input.doc;
  for (const d of input.duplicates) say(`warning: ${opts.file}: ${d}; the last one is imported`);
  const shape = detectShape(doc, opts.file);
  if (shape === undefined) {
    say(`${opts.file}: no MCP servers found (expected "mcpServers", "servers", or Claude Code "projects")`);
    return BAD_INPUT;
  }
  const extraction = extractServers(doc, shape);
  if (extraction.servers.length === 0) {
    say(`${opts.file}: no MCP servers found in this ${shape} config`);
    return BAD_INPUT;
  }

  let base: JsonObject | undefined;
  let baseText = "";
  if (await exists(out)) {
    if (!opts.merge) {
      say(`${out} already exists; use --merge to add to it, or --out FILE to write elsewhere`);
      return BAD_INPUT;
    }
    const existing = await readJson(out, say);
    if (existing === undefined) return BAD_INPUT;
    base = existing.doc;
    baseText = existing.text;
    if (base["mcpServers"] !== undefined && !isObject(base["mcpServers"])) {
      say(`${out}: "mcpServers" is not an object; not touching it`);
      return BAD_INPUT;
    }
  }

  const present = new Set([...keysOf(base?.["mcpServers"]), ...keysOf(base?.["servers"])]);
  const added = extraction.servers.filter((s) => !present.has(s.name));
  const skipped = extraction.servers.filter((s) => present.has(s.name)).map((s) => s.name);
  const addedNames = new Set(added.map((s) => s.name));
  for (const note of extraction.notes) say(`note: ${note}`);
  for (const w of extraction.warnings) if (addedNames.has(w.server)) say(`warning: ${w.message}`);

  const from = `from a ${shape} config`;
  if (added.length === 0) {
    say(
      `nothing to add to ${out}: all ${count(skipped.length)} ${from} are already there: ${skipped.join(", ")}`,
    );
    return 0;
  }
  const entries = Object.fromEntries(added.map((s) => [s.name, s.entry]));
  const write = opts.write ?? ((file: string, text: string) => writeFile(file, text, { mode: 0o600 }));
  try {
    await write(
      out,
      base === undefined
        ? `${JSON.stringify({ mcpServers: entries }, null, 2)}\n`
        : mergeInto(baseText, added),
    );
  } catch (error) {
    say(`cannot write ${out}: ${errorMessage(error)}`);
    return BAD_INPUT;
  }

  const names = added.map((s) => s.name).join(", ");
  const secrets = secretNote(added);
  if (base === undefined) {
    say(`imported ${count(added.length)} ${from}: ${names}${secrets}`);
    say(`wrote ${out}`);
  } else {
    const rest =
      skipped.length > 0 ? `; skipped ${skipped.length} already present: ${skipped.join(", ")}` : "";
    say(`added ${count(added.length)} ${from} to ${out}: ${names}${rest}${secrets}`);
  }
  return 0;
}

function count(n: number): string {
  return `${n} server${n === 1 ? "" : "s"}`;
}

function keysOf(value: unknown): string[] {
  return isObject(value) ? Object.keys(value) : [];
}

/** Names the servers whose env or header values were copied, never the values. */
function secretNote(servers: readonly ImportedServer[]): string {
  const withEnv = servers.filter((s) => keysOf(s.entry["env"]).length > 0).map((s) => s.name);
  const withHeaders = servers.filter((s) => keysOf(s.entry["headers"]).length > 0).map((s) => s.name);
  const parts = [
    ...(withEnv.length > 0 ? [`env values of ${withEnv.join(", ")}`] : []),
    ...(withHeaders.length > 0 ? [`header values of ${withHeaders.join(", ")}`] : []),
  ];
  return parts.length === 0 ? "" : ` (${parts.join(" and ")} copied as they are; keep the file private)`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}

/**
 * `text` (JSONC) with the servers added to its mcpServers: comments, formatting and key order kept. New
 * entries go after the last existing one (after its comma and same-line comment), at its indentation.
 */
function mergeInto(text: string, servers: readonly ImportedServer[]): string {
  const map = findNodeAtLocation(parseTree(text) ?? { type: "null", offset: 0, length: 0 }, ["mcpServers"]);
  const last = map?.type === "object" ? map.children?.at(-1) : undefined;
  let next: string;
  if (last === undefined) {
    // No mcpServers, or an empty one: jsonc-parser writes it, formatted like the file.
    next = text;
    for (const s of servers) {
      const formattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };
      next = applyEdits(next, modify(next, ["mcpServers", s.name], s.entry, { formattingOptions }));
    }
  } else {
    const end = last.offset + last.length;
    const comma = /^[ \t]*,/.exec(text.slice(end))?.[0];
    let at = end + (comma?.length ?? 0);
    at += /^[ \t]*(?:\/\/[^\n]*|\/\*[^\n]*?\*\/[ \t]*)?(?=\r?\n)/.exec(text.slice(at))?.[0].length ?? 0;
    const lineStart = text.lastIndexOf("\n", last.offset) + 1;
    const indent = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? "  ";
    const block = servers
      .map(
        (s) =>
          `${indent}${JSON.stringify(s.name)}: ${JSON.stringify(s.entry, null, 2).replaceAll("\n", `\n${indent}`)}`,
      )
      .join(",\n");
    const head = comma === undefined ? `${text.slice(0, end)},${text.slice(end, at)}` : text.slice(0, at);
    next = `${head}\n${block}${comma === undefined ? "" : ","}${text.slice(at)}`;
  }
  return next.endsWith("\n") ? next : `${next}\n`;
}

/** The file's top-level object (JSONC: comments and trailing commas accepted), or undefined after saying why not. */
async function readJson(
  file: string,
  say: (line: string) => void,
): Promise<{ doc: JsonObject; text: string; duplicates: readonly string[] } | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    say(`${file}: ${code === "ENOENT" ? "not found" : `cannot read (${code ?? errorMessage(error)})`}`);
    return undefined;
  }
  const parsed = parseJsonc(text);
  if (parsed.syntax !== undefined) {
    say(`${file}: ${parsed.syntax}`);
    return undefined;
  }
  if (!isObject(parsed.value)) {
    say(`${file}: expected a JSON object at the top level`);
    return undefined;
  }
  return { doc: parsed.value, text, duplicates: parsed.duplicates };
}
