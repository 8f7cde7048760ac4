import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Tool } from "@modelcontextprotocol/server";
import { Catalog, type CatalogSource } from "../../src/catalog/catalog.js";
import { shortHash } from "../../src/catalog/names.js";
import type { CatalogServerView } from "../../src/catalog/policy.js";
import { EMPTY_CATALOG } from "../../src/downstream/listing.js";

/** The naming rule of docs/adr/0001-naming-scheme.md, as a table. */

const RULES = { separator: "_", maxLength: 54, readOnly: false };

interface Srv {
  readonly name: string;
  readonly prefix?: string;
  readonly tools: readonly string[];
}

function view(s: Srv): CatalogServerView {
  return {
    name: s.name,
    prefix: s.prefix ?? s.name,
    trustAnnotations: true,
    readOnly: false,
    timeoutMs: 60_000,
    totalTimeoutMs: 180_000,
    tools: { allow: [], deny: [], overrides: {} },
  };
}

/** Servers in config-file order. */
function catalog(servers: readonly Srv[]): Catalog {
  const sources: CatalogSource[] = servers.map((s, order) => ({
    server: view(s),
    catalog: {
      ...EMPTY_CATALOG,
      tools: s.tools.map((name): Tool => ({ name, inputSchema: { type: "object" } })),
    },
    order,
  }));
  return new Catalog(sources, [], RULES);
}

/** "server/tool" → public name. */
function exposed(c: Catalog): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, t] of c.tools)
    if (t.kind === "downstream") out[`${t.route.server}/${t.route.originalName}`] = name;
  return out;
}

const hashed = (wanted: string, server: string, tool: string): string =>
  `${wanted}_${shortHash(`${server}\u0000${tool}`)}`;

describe("public names: who keeps a contested name (ADR 0001)", () => {
  it.each<[string, Srv[], Record<string, string>]>([
    [
      "the server whose key is the name's prefix keeps it, in either config order",
      [
        { name: "a", tools: ["b_echo"] },
        { name: "a_b", tools: ["echo"] },
      ],
      { "a_b/echo": "a_b_echo", "a/b_echo": hashed("a_b_echo", "a", "b_echo") },
    ],
    [
      "… listed the other way round",
      [
        { name: "a_b", tools: ["echo"] },
        { name: "a", tools: ["b_echo"] },
      ],
      { "a_b/echo": "a_b_echo", "a/b_echo": hashed("a_b_echo", "a", "b_echo") },
    ],
    [
      "unprefixed servers with the same tool: the one listed first keeps it, whatever the keys",
      [
        { name: "b", prefix: "", tools: ["echo"] },
        { name: "a", prefix: "", tools: ["echo"] },
      ],
      { "b/echo": "echo", "a/echo": hashed("echo", "a", "echo") },
    ],
    [
      "a name valid as written beats one that became it by sanitising (listed first or not)",
      [
        { name: "w1", prefix: "", tools: ["get.weather"] },
        { name: "w2", prefix: "", tools: ["get_weather"] },
      ],
      { "w2/get_weather": "get_weather", "w1/get.weather": hashed("get_weather", "w1", "get.weather") },
    ],
    [
      "… within one server too",
      [{ name: "w", prefix: "", tools: ["get.weather", "get_weather"] }],
      { "w/get_weather": "get_weather", "w/get.weather": hashed("get_weather", "w", "get.weather") },
    ],
    [
      "an unprefixed tool spelled like another server's namespace yields to that server",
      [
        { name: "x", prefix: "", tools: ["gh_issue"] },
        { name: "gh", tools: ["issue"] },
      ],
      { "gh/issue": "gh_issue", "x/gh_issue": hashed("gh_issue", "x", "gh_issue") },
    ],
    [
      "a hashed name never takes a name a tool has as written",
      [
        { name: "p", prefix: "", tools: ["echo", hashed("echo", "q", "echo")] },
        { name: "q", prefix: "", tools: ["echo"] },
      ],
      {
        "p/echo": "echo",
        [`p/${hashed("echo", "q", "echo")}`]: hashed("echo", "q", "echo"),
        "q/echo": `echo_${shortHash("q\u0000echo#1")}`,
      },
    ],
  ])("%s", (_label, servers, expected) => {
    expect(exposed(catalog(servers))).toEqual(expected);
  });

  it("adding a server never renames an existing tool it has no better claim to", () => {
    const before = exposed(catalog([{ name: "b", prefix: "", tools: ["echo", "get_weather"] }]));
    const after = exposed(
      catalog([
        { name: "b", prefix: "", tools: ["echo", "get_weather"] },
        { name: "a", prefix: "", tools: ["echo", "get.weather"] },
      ]),
    );
    expect(after["b/echo"]).toBe(before["b/echo"]);
    expect(after["b/get_weather"]).toBe(before["b/get_weather"]);
  });

  it("warns for every tool not exposed as written, and for every dropped one", () => {
    const c = catalog([
      { name: "b", prefix: "", tools: ["echo", "get.weather", ""] },
      { name: "a", prefix: "", tools: ["echo"] },
      { name: "long", tools: ["x".repeat(60)] },
    ]);
    expect(c.warnings.map((w) => w.message)).toEqual(
      expect.arrayContaining([
        'b: tool "get.weather" is exposed as "get_weather" (characters clients reject were replaced)',
        `long: tool "${"x".repeat(60)}" is exposed as "${c.toolsOf("long")[0]}" (shortened to maxToolNameLength 54)`,
        "b: dropped 1 tool with an empty or missing name",
        `tool name collision: a's "echo" is exposed as "${hashed("echo", "a", "echo")}"; the name it wanted belongs to b's "echo" (docs/adr/0001-naming-scheme.md)`,
      ]),
    );
    expect(c.warnings).toHaveLength(4);
    expect(c.resolveTool("")).toBeUndefined();
  });

  it("property: appending an unprefixed server moves no existing name it has no better claim to", () => {
    const toolName = fc.stringMatching(/^[ab][._]?[ab]?$/);
    const server = fc.record({
      prefix: fc.constantFrom("", "a", "a_b", "b"),
      tools: fc.uniqueArray(toolName, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(server, { maxLength: 4 }),
        fc.uniqueArray(toolName, { maxLength: 4 }),
        (old, added) => {
          const servers: Srv[] = old.map((s, i) => ({ name: `s${i}`, prefix: s.prefix, tools: s.tools }));
          const before = exposed(catalog(servers));
          const after = exposed(catalog([...servers, { name: "z", prefix: "", tools: added }]));
          const addedExact = new Set(added.filter((t) => /^[a-zA-Z0-9_-]+$/.test(t)));
          for (const [key, name] of Object.entries(before)) {
            if (after[key] === name) continue;
            // Only a name the new server has as written may move an existing tool that had it by sanitising.
            const [srv, tool] = key.split("/") as [string, string];
            const prefix = servers.find((s) => s.name === srv)?.prefix ?? "";
            const wanted = (prefix === "" ? tool : `${prefix}_${tool}`).replace(/[^a-zA-Z0-9_-]/g, "_");
            const hadItExactly = /^[a-zA-Z0-9_-]+$/.test(tool) && wanted === name;
            expect(hadItExactly, `${key}: ${name} → ${after[key]}`).toBe(false);
            expect(
              addedExact.has(wanted) || added.some((t) => t.replace(/[^a-zA-Z0-9_-]/g, "_") === wanted),
            ).toBe(true);
          }
        },
      ),
    );
  });
});
