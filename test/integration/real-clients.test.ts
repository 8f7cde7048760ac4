import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { MultiServerMCPClient } from "@langchain/mcp-adapters";
import {
  CLI,
  ROOT,
  memoryEntry,
  startHttp,
  tempDir,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * End to end through MCP clients we did not write, in front of the real memory server:
 * @modelcontextprotocol/inspector-cli (stdio and HTTP), @langchain/mcp-adapters (stdio and HTTP) and
 * mcp-remote (its stdio bridged to our HTTP front).
 */

/** A package's bin script, resolved from its package.json (run with node, never npx). */
async function resolveBin(pkg: string, name?: string): Promise<string> {
  const manifest = JSON.parse(
    await readFile(path.join(ROOT, "node_modules", ...pkg.split("/"), "package.json"), "utf8"),
  ) as { bin: string | Record<string, string> };
  const rel =
    typeof manifest.bin === "string" ? manifest.bin : manifest.bin[name ?? Object.keys(manifest.bin)[0]!]!;
  return path.join(ROOT, "node_modules", ...pkg.split("/"), rel);
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("real third-party MCP clients through the aggregator (real memory server behind it)", () => {
  let tmp: TempDir;
  let config: string;
  let http: HttpHarness;
  let childEnv: Record<string, string>;

  beforeAll(async () => {
    tmp = await tempDir("amcp-clients-");
    await mkdir(path.join(tmp.dir, "home"), { recursive: true });
    config = await writeConfig(tmp.dir, {
      mcpServers: { memory: memoryEntry(tmp.dir, { serializeWrites: true }) },
    });
    childEnv = { PATH: process.env["PATH"] ?? "", HOME: path.join(tmp.dir, "home") };
    http = await startHttp(config, { env: { HOME: path.join(tmp.dir, "home") } });
  });

  afterAll(async () => {
    await http?.close();
    await tmp?.cleanup();
  });

  describe("@modelcontextprotocol/inspector-cli 1.0.3", () => {
    let bin: string;
    let cwd: string;
    let inspectorConfig: string;

    beforeAll(async () => {
      bin = await resolveBin("@modelcontextprotocol/inspector-cli", "mcp-inspector-cli");
      // Gotcha 1: it imports "../package.json" only if that exists relative to the CWD, else
      // "../../package.json" relative to its own module, which does not exist: give the CWD a parent
      // with a package.json.
      const outer = path.join(tmp.dir, "inspector");
      cwd = path.join(outer, "work");
      await mkdir(cwd, { recursive: true });
      await writeFile(
        path.join(outer, "package.json"),
        JSON.stringify({ name: "inspector-cwd", version: "1.0.0", private: true }),
      );
      // Gotcha 2: its launcher takes `--config FILE` as ITS OWN option (a Claude-style mcpServers file) and
      // with one server in it runs that server directly, bypassing us. So our command line goes into an
      // inspector config file and is selected with --server.
      inspectorConfig = path.join(outer, "inspector.json");
      await writeFile(
        inspectorConfig,
        JSON.stringify({
          mcpServers: { hub: { command: process.execPath, args: [CLI, "serve", "--config", config] } },
        }),
      );
    });

    const inspect = (target: string[], method: string, extra: string[] = []) =>
      run(process.execPath, [bin, "--cli", ...target, "--method", method, ...extra], { cwd, env: childEnv });
    const json = (r: Run): Record<string, unknown> => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };

    it("over stdio: lists, calls, reads the resource", async () => {
      const target = ["--config", inspectorConfig, "--server", "hub"];
      const listed = json(await inspect(target, "tools/list")) as { tools: { name: string }[] };
      const names = listed.tools.map((t) => t.name);
      expect(names.filter((n) => n.startsWith("memory_"))).toHaveLength(9);
      expect(names).not.toContain("create_entities");

      const entities = JSON.stringify([
        { name: "InspectorStdio", entityType: "client", observations: ["via inspector-cli stdio"] },
      ]);
      const created = json(
        await inspect(target, "tools/call", [
          "--tool-name",
          "memory_create_entities",
          "--tool-arg",
          `entities=${entities}`,
        ]),
      );
      expect(created["isError"]).not.toBe(true);
      const graph = json(await inspect(target, "tools/call", ["--tool-name", "memory_read_graph"]));
      expect(text(graph)).toContain("InspectorStdio");

      const resources = json(await inspect(target, "resources/list")) as { resources: { uri: string }[] };
      expect(resources.resources.map((r) => r.uri)).toContain("memory://knowledge-graph");
      const read = json(await inspect(target, "resources/read", ["--uri", "memory://knowledge-graph"]));
      expect(JSON.stringify(read)).toContain("InspectorStdio");

      // memory has no prompts, so we declare no prompts capability: prompts/list is -32601 and exits 1.
      const prompts = await inspect(target, "prompts/list");
      expect(prompts.code).toBe(1);
      expect(prompts.stderr).toContain("-32601");
    }, 60_000);

    it("over Streamable HTTP (URL ending /mcp)", async () => {
      const target = [http.url];
      const listed = json(await inspect(target, "tools/list")) as { tools: { name: string }[] };
      expect(listed.tools.map((t) => t.name)).toContain("memory_read_graph");
      const entities = JSON.stringify([
        { name: "InspectorHttp", entityType: "client", observations: ["via inspector-cli http"] },
      ]);
      json(
        await inspect(target, "tools/call", [
          "--tool-name",
          "memory_create_entities",
          "--tool-arg",
          `entities=${entities}`,
        ]),
      );
      const graph = json(await inspect(target, "tools/call", ["--tool-name", "memory_read_graph"]));
      expect(text(graph)).toContain("InspectorHttp");
      const read = json(await inspect(target, "resources/read", ["--uri", "memory://knowledge-graph"]));
      expect(JSON.stringify(read)).toContain("InspectorHttp");
      // A tool error is a result (exit 0, isError), an unknown tool a protocol error (exit 1).
      const unknown = await inspect(target, "tools/call", ["--tool-name", "memory_no_such_tool"]);
      expect(unknown.code).toBe(1);
    }, 60_000);
  });

  describe("@langchain/mcp-adapters MultiServerMCPClient", () => {
    async function exercise(client: MultiServerMCPClient, marker: string): Promise<void> {
      try {
        const tools = await client.getTools();
        const names = tools.map((t) => t.name);
        expect(names.filter((n) => n.startsWith("memory_"))).toHaveLength(9);
        const create = tools.find((t) => t.name === "memory_create_entities")!;
        const read = tools.find((t) => t.name === "memory_read_graph")!;
        await create.invoke({
          entities: [{ name: marker, entityType: "client", observations: ["via langchain"] }],
        });
        const graph: unknown = await read.invoke({});
        expect(JSON.stringify(graph)).toContain(marker);
        const resources = await client.listResources();
        const uris = Object.values(resources)
          .flat()
          .map((r) => r.uri);
        expect(uris).toContain("memory://knowledge-graph");
        const server = Object.keys(resources)[0]!;
        const contents = await client.readResource(server, "memory://knowledge-graph");
        expect(JSON.stringify(contents)).toContain(marker);
      } finally {
        await client.close();
      }
    }

    it("over stdio", async () => {
      const client = new MultiServerMCPClient({
        throwOnLoadError: true,
        mcpServers: {
          hub: {
            transport: "stdio",
            command: process.execPath,
            args: [CLI, "serve", "--config", config],
            env: childEnv,
            stderr: "ignore",
          },
        },
      });
      await exercise(client, "LangchainStdio");
    }, 30_000);

    it("over Streamable HTTP", async () => {
      const client = new MultiServerMCPClient({
        throwOnLoadError: true,
        mcpServers: { hub: { transport: "http", url: http.url, automaticSSEFallback: false } },
      });
      await exercise(client, "LangchainHttp");
    }, 30_000);
  });

  describe("mcp-remote (stdio ↔ Streamable HTTP bridge)", () => {
    it("bridges an SDK client on its stdio to our HTTP front", async () => {
      const bin = await resolveBin("mcp-remote", "mcp-remote");
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [bin, http.url, "--transport", "http-only"],
        env: childEnv,
        cwd: tmp.dir,
        stderr: "pipe",
      });
      let stderr = "";
      transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      const client = new Client({ name: "via-mcp-remote", version: "1.0.0" });
      try {
        await client.connect(transport);
        expect(client.getServerVersion()?.name).toBe("autonomous-mcp");
        const { tools } = await client.listTools();
        expect(tools.filter((t) => t.name.startsWith("memory_")).length, stderr).toBe(9);
        await client.callTool({
          name: "memory_create_entities",
          arguments: {
            entities: [{ name: "McpRemote", entityType: "client", observations: ["via mcp-remote"] }],
          },
        });
        expect(text(await client.callTool({ name: "memory_read_graph", arguments: {} }))).toContain(
          "McpRemote",
        );
        const read = await client.readResource({ uri: "memory://knowledge-graph" });
        expect(JSON.stringify(read)).toContain("McpRemote");
      } finally {
        await client.close();
      }
    }, 30_000);
  });
});
