import { describe, expect, it } from "vitest";
import { parseConfig, type ResolvedServer } from "../../src/config/load.js";

/** server-memory loses concurrent writes: its built-in profile turns serializeWrites on unless the entry says no. */

const MEMORY = { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"] };

function resolve(config: Record<string, unknown>, name = "s"): ResolvedServer {
  const found = parseConfig(JSON.stringify(config), "servers.config.json", { env: {} }).servers.find(
    (s) => s.name === name,
  );
  if (!found) throw new Error(`no server ${name}`);
  return found;
}

describe("serializeWrites from the memory profile", () => {
  it.each<[string, Record<string, unknown>, boolean]>([
    ["a Claude Desktop entry (npx)", { mcpServers: { s: MEMORY } }, true],
    [
      "a local install path",
      {
        mcpServers: {
          s: { command: "node", args: ["/x/node_modules/@modelcontextprotocol/server-memory/dist/index.js"] },
        },
      },
      true,
    ],
    [
      "a pinned version",
      { mcpServers: { s: { command: "npx", args: ["@modelcontextprotocol/server-memory@2026.8.31"] } } },
      true,
    ],
    [
      "the profile named explicitly",
      { mcpServers: { s: { command: "my-memory", profile: "server-memory" } } },
      true,
    ],
    [
      "top-level defaults saying false",
      { defaults: { serializeWrites: false }, mcpServers: { s: MEMORY } },
      true,
    ],
    ["the entry saying false", { mcpServers: { s: { ...MEMORY, serializeWrites: false } } }, false],
    ["the entry saying true", { mcpServers: { s: { ...MEMORY, serializeWrites: true } } }, true],
    [
      "another server",
      { mcpServers: { s: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] } } },
      false,
    ],
    [
      "another server under defaults true",
      { defaults: { serializeWrites: true }, mcpServers: { s: { command: "x" } } },
      true,
    ],
  ])("%s", (_name, config, expected) => {
    expect(resolve(config).serializeWrites).toBe(expected);
  });
});
