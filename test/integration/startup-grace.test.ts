import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { doctor, type DoctorRow } from "../../src/commands/doctor.js";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/logger.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  MEMORY_BIN,
  alive,
  memoryEntry,
  startHttp,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

interface StatusServer {
  name: string;
  state: string;
  since?: string;
}

async function statusOf(h: StdioHarness): Promise<Map<string, StatusServer>> {
  const result = (await h.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
  const servers = (result.structuredContent as { servers: StatusServer[] }).servers;
  return new Map(servers.map((s) => [s.name, s]));
}

/**
 * Start-up grace (docs/adr/0003): `slow` answers initialize only once the test creates its release file,
 * `never` not at all. The client's initialize must not wait for them.
 */
describe("start-up: the stdio front answers after the grace, late servers join", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let release: string;
  const listChanged: number[] = [];

  beforeAll(async () => {
    tmp = await tempDir();
    release = path.join(tmp.dir, "release-slow");
    const config = await writeConfig(tmp.dir, {
      startup: { graceMs: 2_500 },
      mcpServers: {
        memory: memoryEntry(tmp.dir),
        slow: faultServerEntry("hold_initialize", { FAULT_RELEASE_FILE: release }),
        never: { ...faultServerEntry("hold_initialize"), timeoutMs: 300, retry: { retries: 0 } },
        github: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-github"],
          requiredEnv: ["GITHUB_PERSONAL_ACCESS_TOKEN"],
        },
        trello: { command: "trello-mcp", enabled: false },
        broken: { ...faultServerEntry("crash_at_start"), restart: { maxRestarts: 0 } },
      },
    });
    // Resolves when the aggregator answered initialize: `slow` cannot be ready (no release file yet).
    h = await startStdio(config);
    h.client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      () => void listChanged.push(listChanged.length),
    );
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answered initialize with the fast server's tools while slow and never were still starting", async () => {
    const { tools } = await h.client.listTools();
    const names = tools.map((t: Tool) => t.name);
    expect(names).toContain("memory_read_graph");
    expect(names).toContain("search_tools");
    expect(names.some((n) => n.startsWith("slow_") || n.startsWith("never_"))).toBe(false);
    // Resources and prompts of late servers may join: both are declared while something is starting.
    expect(h.client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    expect(h.client.getServerCapabilities()?.prompts?.listChanged).toBe(true);
    expect(h.stderr()).toMatch(/still starting: (slow, never|never, slow)/);
  });

  it("status names the servers still starting and since when", async () => {
    const status = await statusOf(h);
    for (const name of ["slow", "never"]) {
      expect(status.get(name)?.state).toBe("starting");
      expect(Number.isNaN(Date.parse(status.get(name)?.since ?? ""))).toBe(false);
    }
    expect(status.get("memory")?.state).toBe("ready");
    const result = (await h.client.callTool({ name: "status", arguments: {} })) as CallToolResult;
    expect(text(result)).toMatch(/^slow: starting since \S+ \(\d+ s\)/m);
  });

  it("a call to a server still starting answers the reason when it does not come in time", async () => {
    const result = (await h.client.callTool({
      name: "never_echo",
      arguments: { message: "x" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^never_echo: the server never is still starting \(since .+\)/);
  });

  it("calls to skipped, disabled and failed servers answer the reason and the fix, also via call_tool", async () => {
    await waitFor(async () => (await statusOf(h)).get("broken")?.state === "failed");
    const cases: [string, RegExp][] = [
      [
        "github_get_issue",
        /^github_get_issue: the server github was skipped: set GITHUB_PERSONAL_ACCESS_TOKEN and restart \(or reload the config\)$/,
      ],
      ["github_not_a_profile_tool", /^github_not_a_profile_tool: the server github was skipped: set GITHUB/],
      ["trello_get_lists", /^trello_get_lists: the server trello is disabled in the config/],
      ["broken_echo", /^broken_echo: the server broken failed to start: .+autonomous-mcp doctor/],
    ];
    for (const [name, expected] of cases) {
      const direct = (await h.client.callTool({ name, arguments: {} })) as CallToolResult;
      expect(direct.isError).toBe(true);
      expect(text(direct)).toMatch(expected);
      const via = (await h.client.callTool({
        name: "call_tool",
        arguments: { name, arguments: {} },
      })) as CallToolResult;
      expect(via.isError).toBe(true);
      expect(text(via)).toMatch(expected);
    }
    // A name no configured server would serve is still an unknown tool (JSON-RPC -32602).
    await expect(h.client.callTool({ name: "nobody_echo", arguments: {} })).rejects.toThrow(
      /Unknown tool: nobody_echo/,
    );
  });

  it("search_tools says which servers it could not search, and why", async () => {
    await waitFor(async () => (await statusOf(h)).get("broken")?.state === "failed");
    const found = (await h.client.callTool({
      name: "search_tools",
      arguments: { query: "create github issue" },
    })) as CallToolResult;
    expect(found.isError).toBeFalsy();
    const note = text(found).split("\n\n").at(-1) ?? "";
    expect(note).toMatch(/^Not searched: /);
    expect(note).toContain("github (skipped: set GITHUB_PERSONAL_ACCESS_TOKEN)");
    expect(note).toContain("trello (disabled in the config)");
    expect(note).toMatch(/broken \(failed: .+\)/);
    expect(note).toContain("never (still starting: its tools join when it is ready)");
    expect(note).not.toContain("memory");
    const structured = found.structuredContent as { notSearched: { server: string; state: string }[] };
    expect(Object.fromEntries(structured.notSearched.map((n) => [n.server, n.state]))).toEqual({
      github: "skipped",
      trello: "disabled",
      broken: "failed",
      never: "starting",
      slow: "starting",
    });
  });

  it("when slow becomes ready: list_changed, then its tools are listed and callable (also via call_tool)", async () => {
    // A call made while slow is still starting waits for it (within its timeout) instead of failing.
    const early = h.client.callTool({
      name: "call_tool",
      arguments: { name: "slow_echo", arguments: { message: "waited" } },
    });
    const before = listChanged.length;
    await writeFile(release, "");
    await waitFor(() => listChanged.length > before, 20_000);
    expect(text(await early)).toBe("waited");
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("slow_echo");
    expect(text(await h.client.callTool({ name: "slow_echo", arguments: { message: "hi" } }))).toBe("hi");
    const via = await h.client.callTool({
      name: "call_tool",
      arguments: { name: "slow_echo", arguments: { message: "via" } },
    });
    expect(text(via)).toBe("via");
    const found = (await h.client.callTool({
      name: "search_tools",
      arguments: { query: "echo message", limit: 3 },
    })) as CallToolResult;
    expect(text(found)).toMatch(/slow_echo/);
    const status = await statusOf(h);
    expect(status.get("slow")?.state).toBe("ready");
    expect(status.get("never")?.state).toBe("starting");
  });
});

describe("start-up: a late server's resources join too", () => {
  it("declares resources while a server is starting, then sends resources/list_changed when it joins", async () => {
    const tmp = await tempDir();
    const release = path.join(tmp.dir, "release-memory");
    // server-memory (which has a resource) started only once the test creates the release file.
    const gate = 'while [ ! -e "$RELEASE" ]; do sleep 0.02; done; exec "$NODE" "$MEMORY"';
    const config = await writeConfig(tmp.dir, {
      startup: { graceMs: 1_000 },
      mcpServers: {
        fast: faultServerEntry("normal"),
        memory: {
          command: "sh",
          args: ["-c", gate],
          env: {
            RELEASE: release,
            NODE: process.execPath,
            MEMORY: MEMORY_BIN,
            MEMORY_FILE_PATH: path.join(tmp.dir, "memory.jsonl"),
          },
        },
      },
    });
    const h = await startStdio(config);
    try {
      const resourcesChanged: number[] = [];
      const toolsChanged: number[] = [];
      h.client.setNotificationHandler(
        ResourceListChangedNotificationSchema,
        () => void resourcesChanged.push(1),
      );
      h.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void toolsChanged.push(1));
      expect(h.client.getServerCapabilities()?.resources?.listChanged).toBe(true);
      expect((await h.client.listResources()).resources).toEqual([]);
      await writeFile(release, "");
      await waitFor(() => resourcesChanged.length > 0 && toolsChanged.length > 0, 20_000);
      const uris = (await h.client.listResources()).resources.map((r) => r.uri);
      expect(uris).toContain("memory://knowledge-graph");
      const graph = await h.client.readResource({ uri: "memory://knowledge-graph" });
      expect(graph.contents.length).toBeGreaterThan(0);
    } finally {
      await h.close();
      await tmp.cleanup();
    }
  });
});

describe("start-up: the HTTP front listens after the grace", () => {
  it("serves sessions while a server is still starting; its tools join when it is ready", async () => {
    const tmp = await tempDir();
    const release = path.join(tmp.dir, "release-slow");
    const config = await writeConfig(tmp.dir, {
      startup: { graceMs: 2_500 },
      mcpServers: {
        memory: memoryEntry(tmp.dir),
        slow: faultServerEntry("hold_initialize", { FAULT_RELEASE_FILE: release }),
      },
    });
    // Resolves on the "listening on" line: slow cannot be ready yet.
    const h = await startHttp(config);
    try {
      expect(h.stderr()).toMatch(/still starting: slow/);
      const client = await h.connect();
      const first = (await client.listTools()).tools.map((t) => t.name);
      expect(first).toContain("memory_read_graph");
      expect(first).not.toContain("slow_echo");
      await writeFile(release, "");
      await waitFor(
        async () => (await client.listTools()).tools.some((t) => t.name === "slow_echo"),
        20_000,
        100,
      );
      expect(text(await client.callTool({ name: "slow_echo", arguments: { message: "late" } }))).toBe("late");
      await waitFor(() => /every server has settled/.test(h.stderr()));
    } finally {
      await h.close();
      await tmp.cleanup();
    }
  });
});

describe("start-up: doctor names what is still starting", () => {
  it("reports a server that has not answered when doctor stops waiting as starting, with since", async () => {
    const loaded = parseConfig(
      JSON.stringify({
        mcpServers: {
          fast: faultServerEntry("normal"),
          stuck: { ...faultServerEntry("hold_initialize"), connectTimeoutMs: 60_000 },
        },
      }),
      "doctor-test.json",
      { env: {} },
    );
    let out = "";
    const code = await doctor(loaded, createLogger({ level: "silent" }), {
      json: true,
      out: (t) => void (out += t),
      waitMs: 5_000,
    });
    const rows = (JSON.parse(out) as { servers: DoctorRow[] }).servers;
    const stuck = rows.find((r) => r.server === "stuck");
    expect(rows.find((r) => r.server === "fast")?.state).toBe("ready");
    expect(stuck?.state).toBe("starting");
    expect(Number.isNaN(Date.parse(stuck?.since ?? ""))).toBe(false);
    expect(stuck?.hint).toMatch(/still starting/);
    expect(code).toBe(0);
  });
});

describe("start-up: a client gone while a server is still starting", () => {
  it("prints no false 'every server has settled' summary while shutting down", async () => {
    const tmp = await tempDir();
    try {
      const config = await writeConfig(tmp.dir, {
        startup: { graceMs: 500 },
        mcpServers: {
          fast: faultServerEntry("normal"),
          // Ignores EOF and SIGTERM: stopping it takes a while (as with some real servers), so hang's
          // start has settled (stopped by the shutdown) well before the aggregator exits.
          stubborn: faultServerEntry("ignore_sigterm"),
          hang: { ...faultServerEntry("hold_initialize"), timeoutMs: 60_000, retry: { retries: 0 } },
        },
      });
      const h = await startStdio(config);
      const stderrEnded = new Promise((resolve) => h.transport.stderr?.once("end", resolve));
      expect(h.stderr()).toMatch(/still starting: hang/);
      const pid = h.pid;
      expect(pid).toBeDefined();
      await h.close();
      await waitFor(() => !alive(pid!), 20_000);
      await stderrEnded;
      expect(h.stderr()).not.toMatch(/every server has settled/);
      expect(h.stderr()).not.toMatch(/not started/);
      expect(h.stderr()).not.toMatch(/tools from 0 servers/);
    } finally {
      await tmp.cleanup();
    }
  });
});
