import { fileURLToPath } from "node:url";
import * as z from "zod";
import { configSchema } from "./schema.js";

/**
 * The JSON Schema of the config file as written, generated from the zod schema (scripts/schema.mjs
 * writes it to schema/servers.config.schema.json at build time). Input side: fields with a default are
 * optional. Draft-07, the draft editors support best.
 */

/** Where the generated schema lives, relative to the package root (and shipped in the package). */
export const SCHEMA_FILE = "schema/servers.config.schema.json";

/** Absolute path of the schema in this installation (for a `$schema` written by `init`). */
export function installedSchemaPath(): string {
  return fileURLToPath(new URL(`../../${SCHEMA_FILE}`, import.meta.url));
}

/** JSON Schema formats; zod also writes its own (`starts_with` next to the equivalent `pattern`). */
const STANDARD_FORMATS = new Set([
  "date-time",
  "date",
  "time",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "uri",
  "uuid",
  "regex",
]);

/** Drops non-standard `format`s in place (validators in strict mode refuse unknown ones). */
function dropUnknownFormats(node: unknown): void {
  if (Array.isArray(node)) for (const item of node) dropUnknownFormats(item);
  else if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>;
    if (typeof record["format"] === "string" && !STANDARD_FORMATS.has(record["format"]))
      delete record["format"];
    for (const value of Object.values(record)) dropUnknownFormats(value);
  }
}

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema.in, { io: "input", target: "draft-7" }) as Record<
    string,
    unknown
  >;
  dropUnknownFormats(schema);
  return {
    $schema: schema["$schema"],
    title: "autonomous-mcp servers.config.json",
    description:
      "Configuration of autonomous-mcp (docs/configuration.md). Also accepts a Claude Desktop, Claude Code, Cursor or VS Code MCP config; run `autonomous-mcp validate` for the checks a schema cannot express.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}
