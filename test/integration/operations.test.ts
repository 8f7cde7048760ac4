import { spawn } from "node:child_process";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  CLI,
  everythingEntry,
  memoryEntry,
  startHttp,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type TempDir,
} from "../helpers/aggregator.js";

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    })
      .on("error", reject)
      .end();
  });
}

describe("graceful shutdown over HTTP", () => {
  it("answers a call in flight before the front closes", async () => {
    const tmp = await tempDir();
    try {
      const config = await writeConfig(tmp.dir, { mcpServers: { fault: faultServerEntry("normal") } });
      const h = await startHttp(config);
      const client = await h.connect();
      const pending = client.callTool({ name: "fault_slow", arguments: { ms: 800 } });
      // SIGTERM once the call is running downstream (not before it reached the aggregator).
      const slowCalls = async (): Promise<number> => {
        const r = (await client.callTool({ name: "fault_stats", arguments: {} })) as CallToolResult;
        const first = r.content[0];
        const stats = JSON.parse(first?.type === "text" ? first.text : "{}") as {
          calls?: Record<string, number>;
        };
        return stats.calls?.["slow"] ?? 0;
      };
      await waitFor(async () => (await slowCalls()) >= 1, 10_000);
      const exited = new Promise((r) => h.child.once("exit", r));
      h.child.kill("SIGTERM");
      const result = (await pending) as CallToolResult;
      expect(JSON.stringify(result.content)).toContain("done");
      await exited;
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("operating it", () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await tempDir();
  });

  afterAll(async () => {
    await tmp?.cleanup();
  });

  it("doctor prints a table with state, tools, connect ms, error and hint; exits 1 when a server fails", async () => {
    const config = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          memory: memoryEntry(tmp.dir),
          missing: { command: "definitely-not-a-command-xyz", args: [] },
          locked: { command: "node", requiredEnv: ["SOME_TOKEN_XYZ"] },
        },
      },
      "doctor.json",
    );
    const table = await run(["doctor", "--config", config], { HOME: tmp.dir });
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/SERVER\s+TRANSPORT\s+STATE\s+TOOLS\s+CONNECT MS\s+PROTOCOL\s+LAST ERROR/);
    expect(table.stdout).toMatch(/memory\s+stdio\s+ready\s+9\s+\d+\s+2025-11-25 \(legacy\)/);
    expect(table.stdout).toMatch(/memory\s+stdio\s+ready\s+9\s+\d+/);
    expect(table.stdout).toMatch(/missing\s+stdio\s+failed/);
    expect(table.stdout).toMatch(/missing: command not found/);
    expect(table.stdout).toMatch(/locked: missing credential: export SOME_TOKEN_XYZ/);
    const json = await run(["doctor", "--config", config, "--json"], { HOME: tmp.dir });
    const parsed = JSON.parse(json.stdout) as { servers: { server: string; state: string }[] };
    expect(parsed.servers.map((s) => [s.server, s.state])).toEqual([
      ["locked", "skipped"],
      ["memory", "ready"],
      ["missing", "failed"],
    ]);
    const ok = await run(
      [
        "doctor",
        "--config",
        await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } }, "ok.json"),
      ],
      { HOME: tmp.dir },
    );
    expect(ok.code).toBe(0);
  });

  it("doctor never prints a secret a failing server wrote to stderr", async () => {
    const leaky = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          leaky: {
            command: process.execPath,
            args: ["-e", "console.error('token is ' + process.env.LEAKY_TOKEN); process.exit(1)"],
            env: { LEAKY_TOKEN: "supersecretvalue123" },
          },
        },
      },
      "leaky.json",
    );
    const res = await run(["doctor", "--config", leaky], { HOME: tmp.dir });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/leaky\s+stdio\s+failed/);
    expect(res.stdout).not.toContain("supersecretvalue123");
  });

  it("rejects an unknown AUTONOMOUS_MCP_LOG_LEVEL with exit 2 and ignores an empty one", async () => {
    const config = await writeConfig(tmp.dir, { mcpServers: { memory: memoryEntry(tmp.dir) } }, "level.json");
    const bad = await run(["tools", "--config", config], {
      HOME: tmp.dir,
      AUTONOMOUS_MCP_LOG_LEVEL: "verbose",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/AUTONOMOUS_MCP_LOG_LEVEL must be one of/);
    const empty = await run(["tools", "--config", config], { HOME: tmp.dir, AUTONOMOUS_MCP_LOG_LEVEL: "" });
    expect(empty.code).toBe(0);
  });

  it("import turns a Claude Desktop config into servers.config.json", async () => {
    const claude = await writeConfig(
      tmp.dir,
      {
        globalShortcut: "x",
        mcpServers: { mem: { command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"] } },
      },
      "claude.json",
    );
    const out = path.join(tmp.dir, "imported.json");
    const res = await run(["import", claude, "--out", out]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/mem/);
    const validated = await run(["validate", "--config", out]);
    expect(validated.code).toBe(0);
  });

  it("filters tools with allow/deny, readOnly and overrides, and search mode lists only the meta-tools", async () => {
    const config = await writeConfig(
      tmp.dir,
      {
        exposure: "search",
        mcpServers: {
          memory: memoryEntry(tmp.dir, {
            readOnly: true,
            tools: { overrides: { read_graph: { description: "Whole graph (overridden)" } } },
          }),
          everything: everythingEntry({ tools: { allow: ["echo", "get-*"], deny: ["get-env"] } }),
        },
      },
      "filters.json",
    );
    const h = await startStdio(config);
    try {
      const listed = (await h.client.listTools()).tools.map((t) => t.name);
      expect(listed).toEqual(expect.arrayContaining(["search_tools", "call_tool", "status", "run_workflow"]));
      expect(listed.some((n) => n.startsWith("memory_") || n.startsWith("everything_"))).toBe(false);
      const found = (await h.client.callTool({
        name: "search_tools",
        arguments: { query: "whole graph", limit: 50 },
      })) as CallToolResult;
      const results = (found.structuredContent as { results: { name: string; description?: string }[] })
        .results;
      const names = results.map((r) => r.name);
      expect(names[0]).toBe("memory_read_graph");
      expect(results[0]?.description).toBe("Whole graph (overridden)");
      const all = (await h.client.callTool({
        name: "search_tools",
        arguments: { query: "memory everything echo entities env sum", limit: 50 },
      })) as CallToolResult;
      const allNames = (all.structuredContent as { results: { name: string }[] }).results.map((r) => r.name);
      expect(allNames).not.toContain("memory_create_entities");
      expect(allNames).not.toContain("everything_get-env");
      expect(allNames).toContain("everything_echo");
      expect(allNames).toContain("everything_get-sum");
      const echoed = (await h.client.callTool({
        name: "call_tool",
        arguments: { name: "everything_echo", arguments: { message: "via call_tool" } },
      })) as CallToolResult;
      expect(JSON.stringify(echoed.content)).toContain("via call_tool");
      const direct = (await h.client.callTool({
        name: "everything_echo",
        arguments: { message: "unlisted but callable" },
      })) as CallToolResult;
      expect(JSON.stringify(direct.content)).toContain("unlisted but callable");
      const denied = await h.client
        .callTool({ name: "everything_get-env", arguments: {} })
        .catch((e: unknown) => e);
      expect((denied as { code?: number }).code).toBe(-32602);
    } finally {
      await h.close();
    }
  });

  it("global readOnly hides every write", async () => {
    const config = await writeConfig(
      tmp.dir,
      { readOnly: true, mcpServers: { memory: memoryEntry(tmp.dir) } },
      "ro.json",
    );
    const h = await startStdio(config);
    try {
      const names = (await h.client.listTools()).tools
        .map((t) => t.name)
        .filter((n) => n.startsWith("memory_"));
      expect(names.sort()).toEqual(["memory_open_nodes", "memory_read_graph", "memory_search_nodes"]);
    } finally {
      await h.close();
    }
  });

  it("serves /metrics in Prometheus format, also apart on --metrics-port", async () => {
    const config = await writeConfig(
      tmp.dir,
      { mcpServers: { memory: memoryEntry(tmp.dir), fault: faultServerEntry("normal") } },
      "metrics.json",
    );
    const h = await startHttp(config, { args: ["--metrics-port", "0"] });
    try {
      const client = await h.connect();
      await client.callTool({ name: "fault_echo", arguments: { message: "m" } });
      await client.callTool({ name: "fault_fail_tool", arguments: {} });
      const metrics = await get(h.url.replace(/\/mcp$/, "/metrics"));
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/amcp_calls_total\{server="fault",tool="echo",outcome="ok"\} 1/);
      expect(metrics.body).toMatch(
        /amcp_calls_total\{server="fault",tool="fail_tool",outcome="tool_error"\} 1/,
      );
      expect(metrics.body).toMatch(/amcp_call_duration_seconds_bucket/);
      expect(metrics.body).toMatch(/amcp_server_up\{server="memory"\} 1/);
      expect(metrics.body).toMatch(/amcp_breaker_state\{server="memory"\} 0/);
      expect(metrics.body).toMatch(/amcp_sessions 1/);
      const apart = /metrics on (http:\/\/\S+)/.exec(h.stderr())?.[1];
      expect(apart).toBeDefined();
      const scraped = await get(apart as string);
      expect(scraped.body).toMatch(/amcp_calls_total/);
      const elsewhere = await get((apart as string).replace(/\/metrics$/, "/mcp"));
      expect(elsewhere.status).toBe(404);
      expect(elsewhere.body).toMatch(/this port serves \/healthz, \/readyz, \/metrics/);
    } finally {
      await h.close();
    }
  });
});
