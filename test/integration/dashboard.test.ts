/**
 * The dashboard over HTTP (src/dashboard/), served by the built CLI in stdio mode on its loopback
 * `--dashboard-port`: the HTTP front's token, Host and Origin rules, the login cookie, and the state it
 * shows; the audit log written by the same process.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  CLI,
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { faultServerEntry, LEAKY_SERVER, raw, startWithDashboard } from "../helpers/dashboard.js";

const TOKEN = "dashboard-test-token-0123456789";
const LEAKY_SECRET = "leaky-secret-value-9f8e7d";

interface State {
  servers: {
    name: string;
    state: string;
    health: string;
    tools: number;
    breaker: string;
    recent: { calls: number; errors: number; errorRate: number; p50Ms: number; p99Ms: number };
    protocolVersion?: string;
    lastError?: { message: string };
  }[];
  calls: { tool: string; server: string; outcome: string; error?: string; durationMs: number }[];
  failures: { tool: string; outcome: string; error?: string }[];
  workflows: { name: string; status: string; steps: { id: string; status: string; durationMs: number }[] }[];
  windowMinutes: number;
  tools: number;
}

describe("dashboard with a token (AUTONOMOUS_MCP_TOKEN)", () => {
  let tmp: TempDir;
  let h: StdioHarness;
  let url: string;
  let origin: string;
  let auditFile: string;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    tmp = await tempDir("amcp-dash-");
    auditFile = path.join(tmp.dir, "logs", "audit.jsonl");
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        fault: faultServerEntry("normal"),
        leaky: { command: process.execPath, args: [LEAKY_SERVER], env: { LEAKY_SECRET } },
      },
      audit: { file: "logs/audit.jsonl" },
    });
    ({ harness: h, url } = await startWithDashboard(config, { AUTONOMOUS_MCP_TOKEN: TOKEN }));
    origin = new URL(url).origin;
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("answers 401 without a token: the login form for the page, WWW-Authenticate for the JSON", async () => {
    const page = await raw(url);
    expect(page.status).toBe(401);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('<form method="post" action="/dashboard/login">');
    expect(page.body).not.toContain("data-server");
    const json = await raw(`${url}state.json`);
    expect(json.status).toBe(401);
    expect(json.headers["www-authenticate"]).toBe('Bearer realm="autonomous-mcp"');
    const wrong = await raw(`${url}state.json`, {
      headers: { authorization: "Bearer not-the-token-at-all" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers["www-authenticate"]).toContain('error="invalid_token"');
    const badCookie = await raw(`${url}state.json`, { headers: { cookie: "amcp_dashboard=not-the-token" } });
    expect(badCookie.status).toBe(401);
  });

  it("serves the page and the state with the bearer token", async () => {
    const page = await raw(url, { headers: bearer });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'nonce-[^']+'/);
    expect(page.headers["cache-control"]).toBe("no-store");
    expect(page.body).toContain('<script type="application/json" id="initial">');
    const json = await raw(`${url}state.json`, { headers: bearer });
    expect(json.status).toBe(200);
    const state = JSON.parse(json.body) as State;
    expect(state.servers.map((s) => [s.name, s.state, s.health])).toEqual([
      ["fault", "ready", "up"],
      ["leaky", "ready", "up"],
    ]);
    expect(state.servers[0]).toMatchObject({ breaker: "closed", protocolVersion: expect.any(String) });
    expect(state.servers[0]?.tools).toBeGreaterThan(5);
    expect(state.windowMinutes).toBe(5);
  });

  it("logs a browser in with the form: an HttpOnly, SameSite=Strict cookie checked like the header", async () => {
    const refused = await raw(`${url}login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: "token=wrong-token-wrong-token",
    });
    expect(refused.status).toBe(401);
    expect(refused.headers["set-cookie"]).toBeUndefined();
    expect(refused.body).toContain("That token was not accepted.");

    const ok = await raw(`${url}login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe("/dashboard/");
    const setCookie = ok.headers["set-cookie"]?.[0] ?? "";
    expect(setCookie).toMatch(/^amcp_dashboard=[^;]+; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(";")[0] ?? "";
    expect((await raw(`${url}state.json`, { headers: { cookie } })).status).toBe(200);
    expect((await raw(url, { headers: { cookie } })).status).toBe(200);

    const out = await raw(`${url}logout`, { method: "POST", headers: { cookie, origin } });
    expect(out.status).toBe(303);
    expect(out.headers["set-cookie"]?.[0]).toMatch(/^amcp_dashboard=; Path=\/dashboard; .*Max-Age=0/);
  });

  it("refuses a foreign Host or Origin, token or not (the HTTP front's checks)", async () => {
    const host = await raw(`${url}state.json`, { headers: { ...bearer, host: "evil.example" } });
    expect(host.status).toBe(403);
    expect(host.body).toContain("Host header not allowed");
    const foreign = await raw(`${url}state.json`, { headers: { ...bearer, origin: "https://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain("Origin not allowed");
    const login = await raw(`${url}login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: `token=${TOKEN}`,
    });
    expect(login.status).toBe(403);
    expect(login.headers["set-cookie"]).toBeUndefined();
    expect((await raw(`${url}state.json`, { headers: { ...bearer, origin } })).status).toBe(200);
  });

  it("answers 404 beside the dashboard and 405 to other methods", async () => {
    const other = await raw(url.replace("/dashboard/", "/mcp"), { headers: bearer });
    expect(other.status).toBe(404);
    expect(other.body).toContain("this port serves only the dashboard");
    const post = await raw(`${url}state.json`, { method: "POST", headers: bearer });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("shows the calls, the failures with scrubbed error texts, and workflow runs step by step", async () => {
    await h.client.callTool({ name: "fault_echo", arguments: { message: "hello" } });
    const leak = (await h.client.callTool({ name: "leaky_leak_tool", arguments: {} })) as CallToolResult;
    expect(leak.isError).toBe(true);
    const run = (await h.client.callTool({
      name: "run_workflow",
      arguments: {
        workflow: {
          steps: [
            { id: "first", tool: "fault_echo", args: { message: "one" } },
            {
              id: "second",
              tool: "fault_echo",
              args: { message: "{{steps.first.result}}" },
              dependsOn: ["first"],
            },
          ],
        },
      },
    })) as CallToolResult;
    expect(run.isError).not.toBe(true);

    const state = JSON.parse((await raw(`${url}state.json`, { headers: bearer })).body) as State;
    const tools = state.calls.map((c) => c.tool);
    // Newest first: the workflow call ends after its steps.
    expect(tools.slice(0, 5)).toEqual([
      "run_workflow",
      "fault_echo",
      "fault_echo",
      "leaky_leak_tool",
      "fault_echo",
    ]);
    expect(state.failures[0]).toMatchObject({ tool: "leaky_leak_tool", outcome: "tool_error" });
    const shown = JSON.stringify(state);
    expect(state.failures[0]?.error).toContain("[redacted]");
    expect(shown).not.toContain(LEAKY_SECRET);
    const fault = state.servers.find((s) => s.name === "fault");
    expect(fault?.recent.calls).toBe(3);
    expect(fault?.recent.errors).toBe(0);
    expect(state.servers.find((s) => s.name === "leaky")?.recent).toMatchObject({
      calls: 1,
      errors: 1,
      errorRate: 1,
    });
    expect(state.workflows[0]).toMatchObject({ name: "run_workflow", status: "ok" });
    expect(state.workflows[0]?.steps.map((s) => [s.id, s.status])).toEqual([
      ["first", "ok"],
      ["second", "ok"],
    ]);
  });

  it("writes every call to the audit log, flushed when the process stops", async () => {
    await h.client.callTool({ name: "fault_echo", arguments: { message: "last" } });
    await h.close();
    await waitFor(async () => {
      const text = await readFile(auditFile, "utf8").catch(() => "");
      return text.split("\n").filter(Boolean).length >= 6;
    });
    const lines = (await readFile(auditFile, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l["tool"])).toEqual([
      "fault_echo",
      "leaky_leak_tool",
      "fault_echo",
      "fault_echo",
      "run_workflow",
      "fault_echo",
    ]);
    expect(lines[1]).toMatchObject({
      server: "leaky",
      originalTool: "leak_tool",
      outcome: "tool_error",
      errorCode: "tool_error",
    });
    expect(JSON.stringify(lines)).not.toContain(LEAKY_SECRET);
    expect(lines.every((l) => !("arguments" in l) && !("result" in l))).toBe(true);
  });
});

describe("dashboard without a token", () => {
  it("lets every local caller in, as the loopback HTTP front does", async () => {
    const tmp = await tempDir("amcp-dash-open-");
    const config = await writeConfig(tmp.dir, { mcpServers: { fault: faultServerEntry("normal") } });
    const { harness, url } = await startWithDashboard(config);
    try {
      const json = await raw(`${url}state.json`);
      expect(json.status).toBe(200);
      expect((JSON.parse(json.body) as State).servers.map((s) => s.name)).toEqual(["fault"]);
      // No login needed: the form sends a browser straight to the page, which has no log-out button.
      expect((await raw(`${url}login`)).status).toBe(303);
      const page = await raw(url);
      expect(page.status).toBe(200);
      expect(page.body).not.toContain("Log out");
      expect((await raw(`${url}state.json`, { headers: { host: "evil.example" } })).status).toBe(403);
    } finally {
      await harness.close();
      await tmp.cleanup();
    }
  });
});

describe("a dashboard port that is taken", () => {
  it("is reported, and MCP is served without the dashboard", async () => {
    const tmp = await tempDir("amcp-dash-busy-");
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const config = await writeConfig(tmp.dir, { mcpServers: { fault: faultServerEntry("normal") } });
      const h = await startStdio(config, { args: ["--dashboard-port", String(port)] });
      try {
        const result = (await h.client.callTool({
          name: "fault_echo",
          arguments: { message: "still" },
        })) as CallToolResult;
        expect(result.content).toEqual([{ type: "text", text: "still" }]);
        expect(h.stderr()).toContain(
          `autonomous-mcp: warning: the dashboard cannot listen on 127.0.0.1:${port} (EADDRINUSE); serving MCP without it`,
        );
      } finally {
        await h.close();
      }
    } finally {
      blocker.close();
      await tmp.cleanup();
    }
  });
});

describe("serve with a bad audit.file", () => {
  it("stops at start-up with exit code 2 and a line naming the file and why", async () => {
    const tmp = await tempDir("amcp-dash-bad-");
    try {
      const blocker = path.join(tmp.dir, "not-a-dir");
      await writeConfig(tmp.dir, { mcpServers: {}, audit: { file: "not-a-dir/audit.jsonl" } });
      await import("node:fs/promises").then((fs) => fs.writeFile(blocker, "x"));
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, "--config", path.join(tmp.dir, "servers.config.json")], {
          env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let err = "";
        child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
        child.once("exit", (c) => resolve({ code: c, stderr: err }));
      });
      expect(code).toBe(2);
      expect(stderr).toContain(
        `audit.file: cannot write the audit log ${path.join(blocker, "audit.jsonl")}: ENOTDIR`,
      );
    } finally {
      await tmp.cleanup();
    }
  });
});
