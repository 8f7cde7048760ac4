import { describe, expect, it } from "vitest";
import { Aggregator } from "../../src/aggregator.js";
import { DEFAULTS } from "../../src/config/defaults.js";
import { parseConfig } from "../../src/config/load.js";
import { isAggregatorError, type AggregatorError } from "../../src/errors.js";
import { createLogger } from "../../src/logger.js";

const SOURCE = "servers.config.json";
const log = createLogger({ level: "silent" });

function load(servers: Record<string, unknown>) {
  return parseConfig(JSON.stringify({ mcpServers: servers }), SOURCE, { env: {} });
}

function problems(servers: Record<string, unknown>): string[] {
  try {
    load(servers);
  } catch (error) {
    expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
    return (error as AggregatorError).details["problems"] as string[];
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("sessionMode and maxClientConnections", () => {
  it("defaults: sessionMode unset (decided by the rule), maxClientConnections 32", () => {
    const [s] = load({ s: { command: "x" } }).servers;
    expect(s?.sessionMode).toBeUndefined();
    expect(s?.maxClientConnections).toBe(DEFAULTS.server.maxClientConnections);
    expect(DEFAULTS.server.maxClientConnections).toBe(32);
  });

  it("rejects a bad sessionMode and a bound below 1 with the JSON path, and keeps the rest", () => {
    const found = problems({
      good: { command: "x", sessionMode: "shared" },
      bad: { command: "x", sessionMode: "per-session", maxClientConnections: 0 },
    });
    expect(found).toHaveLength(2);
    expect(found.join("\n")).toMatch(/mcpServers\.bad\.sessionMode/);
    expect(found.join("\n")).toMatch(/"shared"|shared/);
    expect(found.join("\n")).toMatch(/mcpServers\.bad\.maxClientConnections/);
    expect(found.join("\n")).not.toMatch(/mcpServers\.good/);
  });

  it("the default rule: built-in profiles (memory, github, trello, postman) are shared, every other server per-client, an explicit setting wins", () => {
    const loaded = load({
      memory: { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"] },
      github: { command: "npx", args: ["-y", "@modelcontextprotocol/server-github"] },
      trello: { command: "npx", args: ["-y", "@delorenj/mcp-server-trello"] },
      postman: { command: "npx", args: ["-y", "@postman/postman-mcp-server"] },
      everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] },
      forcedShared: { command: "my-server", sessionMode: "shared" },
      forcedPerClient: {
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-memory"],
        sessionMode: "per-client",
      },
    });
    const agg = new Aggregator(loaded, { log });
    const modes = Object.fromEntries(loaded.servers.map((s) => [s.name, agg.isolation.modeOf(s)]));
    expect(modes).toEqual({
      memory: "shared",
      github: "shared",
      trello: "shared",
      postman: "shared",
      everything: "per-client",
      forcedShared: "shared",
      forcedPerClient: "per-client",
    });
    // The stdio front has one client: nothing is per-client there.
    expect(agg.isolation.isPerClient("everything")).toBe(false);
  });
});
