import { describe, expect, it } from "vitest";
import type { Tool } from "@modelcontextprotocol/server";
import { Catalog, rewrittenResourceUri, type CatalogSource } from "../../src/catalog/catalog.js";
import type { CatalogServerView } from "../../src/catalog/policy.js";
import { assignNames, NAME_PATTERN, publicName, sanitize } from "../../src/catalog/names.js";
import { EMPTY_CATALOG } from "../../src/downstream/listing.js";
import { catalogChanges } from "../../src/catalog/changes.js";

const RULES = { separator: "_", maxLength: 54 };

function server(name: string, extra: Partial<CatalogServerView> = {}): CatalogServerView {
  return {
    name,
    prefix: name,
    trustAnnotations: true,
    readOnly: false,
    timeoutMs: 60_000,
    totalTimeoutMs: 180_000,
    tools: { allow: [], deny: [], overrides: {} },
    ...extra,
  };
}

function tool(name: string, annotations?: Tool["annotations"]): Tool {
  return { name, inputSchema: { type: "object" }, ...(annotations ? { annotations } : {}) };
}

function source(view: CatalogServerView, tools: Tool[]): CatalogSource {
  return { server: view, catalog: { ...EMPTY_CATALOG, tools } };
}

function names(catalog: Catalog): string[] {
  return catalog.toolList.map((t) => t.name);
}

describe("public names", () => {
  it("joins prefix and original name with the separator", () => {
    expect(publicName("github", "get_issue", RULES)).toBe("github_get_issue");
    expect(publicName("x", "a", { separator: "__", maxLength: 54 })).toBe("x__a");
    expect(publicName("", "test_simple_text", RULES)).toBe("test_simple_text");
  });

  it("replaces characters clients reject", () => {
    expect(sanitize("get.issue/v2 (beta)")).toBe("get_issue_v2__beta_");
    expect(publicName("my server", "tool:name", RULES)).toBe("my_server_tool_name");
    expect(publicName("my server", "tool:name", RULES)).toMatch(NAME_PATTERN);
  });

  it("keeps every name within the budget with a deterministic hash suffix", () => {
    const long = "a_really_long_tool_name_that_goes_on_and_on_forever_and_ever";
    const a = publicName("postman", long, RULES);
    expect(a.length).toBeLessThanOrEqual(54);
    expect(a).toMatch(/_[0-9a-f]{6}$/);
    expect(publicName("postman", long, RULES)).toBe(a);
    const b = publicName("postman", `${long}_2`, RULES);
    expect(b).not.toBe(a);
    expect(b.length).toBeLessThanOrEqual(54);
  });

  it("resolves collisions deterministically: built-ins win, then the smaller identity", () => {
    const out = assignNames(
      [
        { wanted: "status", identity: "zeta\u0000status", item: "downstream-z" },
        { wanted: "status", identity: "\u0000meta\u0000status", builtin: true, item: "meta" },
        { wanted: "status", identity: "alpha\u0000status", item: "downstream-a" },
      ],
      54,
    );
    const byItem = Object.fromEntries(out.map((o) => [o.item, o.name]));
    expect(byItem["meta"]).toBe("status");
    expect(byItem["downstream-a"]).toMatch(/^status_[0-9a-f]{6}$/);
    expect(byItem["downstream-z"]).toMatch(/^status_[0-9a-f]{6}$/);
    expect(byItem["downstream-a"]).not.toBe(byItem["downstream-z"]);
    // The same input in another order gives the same names.
    const again = assignNames(
      [...out].reverse().map((o) => ({
        wanted: "status",
        identity:
          o.item === "meta"
            ? "\u0000meta\u0000status"
            : o.item === "downstream-a"
              ? "alpha\u0000status"
              : "zeta\u0000status",
        builtin: o.item === "meta",
        item: o.item,
      })),
      54,
    );
    expect(Object.fromEntries(again.map((o) => [o.item, o.name]))).toEqual(byItem);
  });
});

describe("catalog", () => {
  it("is sorted, valid and stable when another server is added or removed", () => {
    const a = source(server("github"), [tool("get_issue"), tool("create_issue")]);
    const b = source(server("memory"), [tool("read_graph")]);
    const c = source(server("zzz", { prefix: "" }), [tool("get_issue")]);
    const one = new Catalog([a], [], { ...RULES, readOnly: false });
    const two = new Catalog([a, b, c], [], { ...RULES, readOnly: false });
    expect(names(one)).toEqual(["github_create_issue", "github_get_issue"]);
    expect(names(two)).toEqual(["get_issue", "github_create_issue", "github_get_issue", "memory_read_graph"]);
    for (const n of names(two)) expect(n).toMatch(NAME_PATTERN);
    expect(new Catalog([c, b, a], [], { ...RULES, readOnly: false }).toolList).toEqual(two.toolList);
  });

  it("routes by lookup table, never by splitting the name", () => {
    const cat = new Catalog(
      [
        source(server("my_srv"), [tool("do_it")]),
        source(server("my", { prefix: "my" }), [tool("srv_do_it")]),
      ],
      [],
      {
        ...RULES,
        readOnly: false,
      },
    );
    // Both want "my_srv_do_it": one keeps it, the other is renamed; each routes to its own server.
    const targets = [...cat.tools.values()].filter((t) => t.kind === "downstream");
    expect(
      new Set(
        targets.map((t) => (t.kind === "downstream" ? `${t.route.server}/${t.route.originalName}` : "")),
      ),
    ).toEqual(new Set(["my_srv/do_it", "my/srv_do_it"]));
    expect(cat.warnings.some((w) => w.message.includes("collision"))).toBe(true);
  });

  it("applies allow/deny globs, readOnly and overrides, and resolves hints", () => {
    const view = server("gh", {
      trustAnnotations: false,
      tools: {
        allow: ["get_*", "create_*", "delete_*"],
        deny: ["delete_*"],
        overrides: { create_issue: { description: "Make an issue", annotations: { idempotentHint: true } } },
      },
      profile: { get_issue: { annotations: { readOnlyHint: true }, cacheTtlMs: 5_000 } },
    });
    const cat = new Catalog(
      [
        source(view, [
          tool("get_issue", { readOnlyHint: false }),
          tool("create_issue"),
          tool("delete_repo"),
          tool("list_all"),
        ]),
      ],
      [],
      { ...RULES, readOnly: false },
    );
    expect(names(cat)).toEqual(["gh_create_issue", "gh_get_issue"]);
    const get = cat.resolveTool("gh_get_issue");
    const create = cat.resolveTool("gh_create_issue");
    if (get?.kind !== "downstream" || create?.kind !== "downstream") throw new Error("not routed");
    expect(get.route.policy.hints.readOnly).toBe(true);
    expect(get.route.policy.cacheTtlMs).toBe(5_000);
    expect(create.route.policy.retrySafe).toBe(true);
    expect(create.definition.description).toBe("Make an issue");
    const readOnly = new Catalog([source(view, [tool("get_issue"), tool("create_issue")])], [], {
      ...RULES,
      readOnly: true,
    });
    expect(names(readOnly)).toEqual(["gh_get_issue"]);
  });

  it("lists only built-ins in search mode but still resolves every tool", () => {
    const cat = new Catalog(
      [source(server("memory"), [tool("read_graph")])],
      [{ kind: "meta", definition: tool("search_tools") }],
      { ...RULES, readOnly: false, exposure: "search" },
    );
    expect(names(cat)).toEqual(["search_tools"]);
    expect(cat.resolveTool("memory_read_graph")?.kind).toBe("downstream");
  });

  it("keeps resource URIs and rewrites only a duplicate, by a documented scheme", () => {
    const res = (uri: string) => ({ ...EMPTY_CATALOG, resources: [{ uri, name: uri }] });
    const cat = new Catalog(
      [
        { server: server("b"), catalog: res("file:///same") },
        { server: server("a"), catalog: res("file:///same") },
      ],
      [],
      { ...RULES, readOnly: false },
    );
    expect(cat.resourceList.map((r) => r.uri)).toEqual([
      "file:///same",
      rewrittenResourceUri("b", "file:///same"),
    ]);
    expect(cat.resolveResource(rewrittenResourceUri("b", "file:///same"))).toEqual({
      server: "b",
      uri: "file:///same",
    });
    expect(cat.resolveResource("file:///same")).toEqual({ server: "a", uri: "file:///same" });
  });
});

describe("catalogChanges: which lists a rebuild changed", () => {
  it("reports only the lists that differ, and a rebuild with the same lists as no change", () => {
    const a = source(server("github"), [tool("get_issue")]);
    const first = new Catalog([a], [], { ...RULES, readOnly: false });
    const same = new Catalog([a], [], { ...RULES, readOnly: false });
    expect(catalogChanges(first, same)).toEqual({ tools: false, resources: false, prompts: false });
    const more = new Catalog([source(server("github"), [tool("get_issue"), tool("create_issue")])], [], {
      ...RULES,
      readOnly: false,
    });
    expect(catalogChanges(same, more)).toEqual({ tools: true, resources: false, prompts: false });
    // Each catalog is serialised once: comparing again gives the same answer.
    expect(catalogChanges(same, more)).toEqual({ tools: true, resources: false, prompts: false });
    const withResource = new Catalog(
      [
        {
          server: server("github"),
          catalog: {
            ...EMPTY_CATALOG,
            tools: [tool("get_issue")],
            resources: [{ uri: "x://1", name: "one" }],
          },
        },
      ],
      [],
      { ...RULES, readOnly: false },
    );
    expect(catalogChanges(first, withResource)).toEqual({ tools: false, resources: true, prompts: false });
  });
});
