/**
 * The built-in safety profiles cover exactly the tools the real servers list, with sane hints.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubProfile } from "../../src/profiles/github.js";
import { trelloProfile } from "../../src/profiles/trello.js";
import type { SafetyProfile } from "../../src/profiles/types.js";
import {
  REAL_SERVER_PACKAGES,
  closeStdioClient,
  realServerEntry,
  withTempHome,
} from "../helpers/real-servers.js";

async function listToolNames(name: "github" | "trello", home: string): Promise<string[]> {
  // No fakes: nothing is called, and the redirect preload refuses any network access anyway.
  const transport = new StdioClientTransport({ ...realServerEntry(name, { home }), stderr: "pipe" });
  const client = new Client({ name: "amcp-profile-test", version: "0.0.0" });
  await client.connect(transport);
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await closeStdioClient(client, transport);
  }
}

const cases: { server: "github" | "trello"; profile: SafetyProfile; count: number }[] = [
  { server: "github", profile: githubProfile, count: 26 },
  { server: "trello", profile: trelloProfile, count: 57 },
];

describe.each(cases)("$server profile", ({ server, profile, count }) => {
  let home: { home: string; cleanup: () => Promise<void> };
  let names: string[];

  beforeAll(async () => {
    home = await withTempHome();
    names = await listToolNames(server, home.home);
  });
  afterAll(async () => {
    await home?.cleanup();
  });

  it("names the package it is for", () => {
    expect(profile.package).toBe(REAL_SERVER_PACKAGES[server]);
  });

  it(`covers exactly the ${count} tools the real server lists`, () => {
    expect(names).toHaveLength(count);
    const listed = [...names].sort();
    const profiled = Object.keys(profile.tools).sort();
    expect({
      missing: listed.filter((n) => !profiled.includes(n)),
      extra: profiled.filter((n) => !listed.includes(n)),
    }).toEqual({
      missing: [],
      extra: [],
    });
  });

  it("has consistent hints and TTLs", () => {
    for (const [name, tool] of Object.entries(profile.tools)) {
      const a = tool.annotations;
      const where = `${server}/${name}`;
      if (a.readOnlyHint) {
        expect(a.destructiveHint, where).toBe(false);
        expect(a.idempotentHint, where).toBe(true);
      }
      if (tool.cacheTtlMs !== undefined) {
        expect(a.readOnlyHint, `${where}: only read-only tools may be cached`).toBe(true);
        expect(tool.cacheTtlMs, where).toBeGreaterThanOrEqual(5_000);
        expect(tool.cacheTtlMs, where).toBeLessThanOrEqual(60_000);
      }
      // Name-based sanity: readers read, creators are not idempotent, removers are destructive.
      if (/^(get|list|search|find|download)_/.test(name)) expect(a.readOnlyHint, where).toBe(true);
      if (/^(create|add|copy|attach)_/.test(name)) {
        expect(a.readOnlyHint, where).toBe(false);
        expect(a.idempotentHint, where).toBe(false);
      }
      if (/^(archive|delete|remove)_/.test(name)) {
        expect(a.destructiveHint, where).toBe(true);
        expect(a.idempotentHint, where).toBe(true);
      }
    }
  });
});

describe("key classifications", () => {
  const hintsOf = (p: SafetyProfile, name: string) => p.tools[name]?.annotations;

  it("github", () => {
    const g = (n: string) => hintsOf(githubProfile, n);
    expect(g("get_issue")).toEqual({
      readOnlyHint: true,
      idempotentHint: true,
      destructiveHint: false,
      openWorldHint: true,
    });
    expect(githubProfile.tools["get_issue"]?.cacheTtlMs).toBe(15_000);
    expect(g("create_issue")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
      destructiveHint: false,
    });
    expect(g("add_issue_comment")).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    expect(g("update_issue")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: true,
      destructiveHint: false,
    });
    expect(g("push_files")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
      destructiveHint: true,
    });
    expect(g("merge_pull_request")).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    for (const n of ["search_repositories", "list_issues", "get_file_contents", "list_commits"]) {
      expect(g(n)?.readOnlyHint, n).toBe(true);
      expect(githubProfile.tools[n]?.cacheTtlMs, n).toBeGreaterThan(0);
    }
    // Polled for changes: never cached.
    expect(githubProfile.tools["get_pull_request_status"]?.cacheTtlMs).toBeUndefined();
  });

  it("trello", () => {
    const t = (n: string) => hintsOf(trelloProfile, n);
    expect(t("get_lists")).toMatchObject({
      readOnlyHint: true,
      idempotentHint: true,
      destructiveHint: false,
    });
    expect(t("add_card_to_list")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: false,
      destructiveHint: false,
    });
    expect(t("add_comment")).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    expect(t("update_card_details")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: true,
      destructiveHint: false,
    });
    expect(t("move_card")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: true,
      destructiveHint: false,
    });
    expect(t("archive_card")).toMatchObject({
      readOnlyHint: false,
      idempotentHint: true,
      destructiveHint: true,
    });
    expect(t("update_list")).toMatchObject({ readOnlyHint: false, destructiveHint: true }); // can archive
    expect(t("set_active_board")).toMatchObject({ readOnlyHint: false, idempotentHint: true });
    for (const n of ["list_boards", "get_lists", "get_cards_by_list_id", "get_card"]) {
      expect(trelloProfile.tools[n]?.cacheTtlMs, n).toBeGreaterThan(0);
    }
    for (const n of ["get_health", "get_active_board_info"])
      expect(trelloProfile.tools[n]?.cacheTtlMs, n).toBeUndefined();
  });
});
