#!/usr/bin/env node
/**
 * Third build step: writes the JSON Schema of servers.config.json, generated from the zod schema
 * (dist/config/schema.js, tsc's output) with zod's z.toJSONSchema, for editor completion and checks.
 *
 *   node scripts/schema.mjs [DIST]   (default dist/; run by `npm run build`)
 *
 * Output: schema/servers.config.schema.json (shipped in the package: package.json "files"). A config
 * points at it with a top-level "$schema" key. It describes the file as written (zod's input side:
 * fields with defaults are optional); checks that need more than JSON Schema (command xor url, ${VAR}
 * expansion, duplicate keys, foreign placeholders) are the loader's (`autonomous-mcp validate`).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.resolve(ROOT, process.argv[2] ?? "dist");
const OUT = path.join(ROOT, "schema", "servers.config.schema.json");

const { configJsonSchema } = await import(pathToFileURL(path.join(DIST, "config", "jsonSchema.js")).href);
mkdirSync(path.dirname(OUT), { recursive: true });
const tmp = `${OUT}.${process.pid}.tmp`;
writeFileSync(tmp, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
renameSync(tmp, OUT);
process.stdout.write(`wrote ${path.relative(ROOT, OUT)}\n`);
