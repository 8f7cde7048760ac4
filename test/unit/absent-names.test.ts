import { describe, expect, it } from "vitest";
import { AbsentNames, type AbsentServer } from "../../src/catalog/absent.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { githubProfile } from "../../src/profiles/github.js";

const rules = { separator: "_", maxLength: 54, readOnly: false };

function server(name: string, extra: Partial<AbsentServer> = {}): AbsentServer {
  return { name, prefix: name, readOnly: false, tools: { allow: [], deny: [] }, ...extra };
}

describe("AbsentNames: which unlisted server a public name belongs to", () => {
  it("knows the exact names of a built-in profile's tools, the tool included", () => {
    const names = new AbsentNames([server("gh", { known: githubProfile.tools })], rules);
    expect(names.owner("gh_get_issue")).toEqual({ server: "gh", tool: "get_issue" });
    expect(names.owner("gh_merge_pull_request")).toEqual({ server: "gh", tool: "merge_pull_request" });
  });

  it("falls back to the server prefix, looked up (longest known prefix wins)", () => {
    const names = new AbsentNames([server("git"), server("git_hub"), server("memory")], rules);
    expect(names.owner("memory_read_graph")).toEqual({ server: "memory" });
    expect(names.owner("git_hub_list")).toEqual({ server: "git_hub" });
    expect(names.owner("git_log")).toEqual({ server: "git" });
    // No tool part, another server's name, a prefix without the separator: not this server's.
    expect(names.owner("memory_")).toBeUndefined();
    expect(names.owner("memory")).toBeUndefined();
    expect(names.owner("memoryx_read")).toBeUndefined();
    expect(names.owner("other_tool")).toBeUndefined();
  });

  it("follows the configured separator, including none, and sanitised prefixes", () => {
    const dots = new AbsentNames([server("db", { prefix: "my.db" })], { ...rules, separator: "--" });
    expect(dots.owner("my_db--query")).toEqual({ server: "db" });
    expect(dots.owner("my_db_query")).toBeUndefined();
    const none = new AbsentNames([server("db")], { ...rules, separator: "" });
    expect(none.owner("dbquery")).toEqual({ server: "db" });
  });

  it("applies allow/deny and read-only to the profile's names; an unprefixed server has no prefix rule", () => {
    const names = new AbsentNames(
      [
        server("gh", {
          known: githubProfile.tools,
          tools: { allow: ["get_*", "create_*"], deny: ["create_branch"] },
        }),
        server("ro", { prefix: "", known: githubProfile.tools, readOnly: true }),
      ],
      rules,
    );
    expect(names.owner("gh_get_issue")?.tool).toBe("get_issue");
    // Denied or not allowed: only the prefix rule still names the server.
    expect(names.owner("gh_create_branch")).toEqual({ server: "gh" });
    expect(names.owner("gh_push_files")).toEqual({ server: "gh" });
    expect(names.owner("list_issues")).toEqual({ server: "ro", tool: "list_issues" });
    expect(names.owner("create_issue")).toBeUndefined();
  });

  it("is reached through Catalog.resolveAbsent, and a listed tool is never absent", () => {
    const catalog = new Catalog([], [], {
      ...rules,
      absent: [server("github", { known: githubProfile.tools })],
    });
    expect(catalog.resolveTool("github_get_issue")).toBeUndefined();
    expect(catalog.resolveAbsent("github_get_issue")).toEqual({ server: "github", tool: "get_issue" });
    expect(new Catalog([], [], rules).resolveAbsent("github_get_issue")).toBeUndefined();
  });
});
