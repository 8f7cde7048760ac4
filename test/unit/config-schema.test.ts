import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parseJsonc } from "../../src/config/jsonc.js";
import { configJsonSchema, installedSchemaPath, SCHEMA_FILE } from "../../src/config/jsonSchema.js";
import { parseConfig } from "../../src/config/load.js";

/**
 * The published JSON Schema (generated from the zod schema at build time) accepts every config we ship
 * or test with, rejects what the loader rejects for its shape, and matches the file the build wrote.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "configs");

const ajv = new Ajv({ strict: true, allErrors: true });
const validate = ajv.compile(configJsonSchema());

function read(file: string): unknown {
  const parsed = parseJsonc(readFileSync(file, "utf8"));
  expect(parsed.syntax).toBeUndefined();
  return parsed.value;
}

const configs = [
  path.join(ROOT, "servers.config.json"),
  ...readdirSync(FIXTURES).map((f) => path.join(FIXTURES, f)),
];

describe("published JSON Schema", () => {
  it.each(configs.map((f) => [path.relative(ROOT, f), f]))("validates %s", (_name, file) => {
    const ok = validate(read(file));
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
    // ... and the loader agrees.
    expect(() => parseConfig(readFileSync(file, "utf8"), path.basename(file), { env: {} })).not.toThrow();
  });

  it("rejects wrong types, values out of range and unknown keys where the loader does", () => {
    for (const bad of [
      { mcpServers: { x: { command: 1 } } },
      { mcpServers: { x: { command: "c", disabled: "yes" } } },
      { mcpServers: { x: { command: "c", retry: { retries: 11 } } } },
      { maxToolNameLength: 80 },
      { http: { extra: 1 } },
      { $schema: 5 },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("is the file the build wrote, referenced by the shipped servers.config.json", () => {
    const built = path.join(ROOT, SCHEMA_FILE);
    expect(installedSchemaPath()).toBe(built);
    if (existsSync(built)) expect(JSON.parse(readFileSync(built, "utf8"))).toEqual(configJsonSchema());
    const shipped = read(path.join(ROOT, "servers.config.json")) as Record<string, unknown>;
    expect(path.resolve(ROOT, String(shipped["$schema"]))).toBe(built);
  });
});
