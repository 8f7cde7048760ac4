import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  startHttp,
  tempDir,
  waitFor,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * Calls whose HTTP request was dropped are cancelled (docs/resilience.md, "Abandoned HTTP requests"):
 * 80 abandoned calls to a slow tool used to hold every slot of the server (16 running + 64 queued) until
 * their timeouts, and every other client got SERVER_BUSY meanwhile.
 */

const ACCEPT = "application/json, text/event-stream";
const ABANDONED = 80;

interface Stats {
  calls: Record<string, number>;
  cancelled: unknown[];
  aborted: unknown[];
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
}

async function openSession(url: string): Promise<string> {
  const init = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    }),
  });
  const sessionId = init.headers.get("mcp-session-id");
  if (!sessionId) throw new Error(`no session: ${init.status}`);
  await init.text();
  const ack = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT, "mcp-session-id": sessionId },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await ack.text();
  return sessionId;
}

describe("HTTP front: abandoned requests are cancelled", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let b: Client;

  const serverStatus = async (): Promise<{ inFlight: number; queued: number }> => {
    const r = await b.callTool({ name: "status", arguments: {} });
    const servers = (r.structuredContent as { servers: { name: string; inFlight: number; queued: number }[] })
      .servers;
    const fault = servers.find((s) => s.name === "fault");
    if (!fault) throw new Error("no fault server in status");
    return fault;
  };
  const stats = async (): Promise<Stats> => {
    const r = await b.callTool({ name: "fault_stats", arguments: {} });
    if (r.isError) throw new Error(text(r));
    return JSON.parse(text(r)) as Stats;
  };

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      // The defaults: 16 slots and 64 queued per server; 80 calls fill them all. Shared: the other client
      // reads the same process's stats (per-client, the default for unknown servers, would give it its own).
      mcpServers: { fault: { ...faultServerEntry("normal"), sessionMode: "shared" } },
      http: { rateLimit: { requestsPerSecond: 1_000, burst: 1_000 }, resumeGraceMs: 300 },
    });
    h = await startHttp(config);
    b = await h.connect();
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  /** Sends `n` calls to fault_slow on a raw session, waits until they hold the server, then drops them all. */
  async function abandon(
    n: number,
    options: { batch?: boolean; version?: string } = {},
  ): Promise<{ before: Stats; settled: PromiseSettledResult<Response>[] }> {
    const before = await stats();
    const sessionId = await openSession(h.url);
    const controllers = Array.from({ length: n }, () => new AbortController());
    const posts = controllers.map((ac, i) =>
      fetch(h.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: ACCEPT,
          "mcp-session-id": sessionId,
          "mcp-protocol-version": options.version ?? "2025-11-25",
        },
        body: JSON.stringify(
          (options.batch ? (m: unknown) => [m] : (m: unknown) => m)({
            jsonrpc: "2.0",
            id: 1_000 + i,
            method: "tools/call",
            params: { name: "fault_slow", arguments: { ms: 600_000 } },
          }),
        ),
        signal: ac.signal,
      }),
    );
    await waitFor(async () => {
      const s = await serverStatus();
      return s.inFlight + s.queued >= n;
    }, 30_000);
    for (const ac of controllers) ac.abort();
    return { before, settled: await Promise.allSettled(posts) };
  }

  it("80 dropped calls free every slot: another client's call completes, the downstream saw them cancelled", async () => {
    const { before, settled } = await abandon(ABANDONED);
    // Each POST is either refused by the abort or had its event stream open (the SDK sends the headers
    // first) and cut by it: none carries a result.
    for (const s of settled)
      if (s.status === "fulfilled") expect(s.value.headers.get("content-type")).toBe("text/event-stream");
    // The streams were resumable (2025-11-25): the calls are cancelled once resumeGraceMs (300 ms) has
    // passed without a resume, and their slots are free again.
    await waitFor(async () => {
      const s = await serverStatus();
      return s.inFlight === 0 && s.queued === 0;
    }, 30_000);
    // Another client: its call is served (before the fix: SERVER_BUSY for minutes).
    const echo = await b.callTool({ name: "fault_echo", arguments: { message: "still served" } });
    expect(echo.isError).toBeFalsy();
    expect(text(echo)).toBe("still served");
    // Every call that reached the downstream was cancelled there; the queued ones never reached it.
    await waitFor(async () => {
      const s = await stats();
      return s.aborted.length - before.aborted.length >= 16;
    }, 30_000);
    const after = await stats();
    expect(after.cancelled.length - before.cancelled.length).toBeGreaterThanOrEqual(16);
    expect((after.calls["slow"] ?? 0) - (before.calls["slow"] ?? 0)).toBeLessThan(ABANDONED);
    await waitFor(async () => {
      const s = await serverStatus();
      return s.inFlight === 0 && s.queued === 0;
    }, 30_000);
  }, 120_000);

  it.each([
    ["resumable (2025-11-25: cancelled after resumeGraceMs)", "2025-11-25"],
    ["not resumable (2025-03-26: cancelled at once)", "2025-03-26"],
  ])(
    "the SDK transport's path too, %s",
    async (_label, version) => {
      // A batch of one call per POST. (Its SSE headers may already be out: such a fetch resolved, and the
      // abort then drops its body.)
      const { before } = await abandon(20, { batch: true, version });
      await waitFor(async () => {
        const s = await stats();
        return s.cancelled.length - before.cancelled.length >= 16;
      }, 30_000);
      const echo = await b.callTool({ name: "fault_echo", arguments: { message: "served" } });
      expect(text(echo)).toBe("served");
      await waitFor(async () => {
        const s = await serverStatus();
        return s.inFlight === 0 && s.queued === 0;
      }, 30_000);
    },
    120_000,
  );
  it("a call whose SSE stream was dropped and not resumed is cancelled after resumeGraceMs", async () => {
    const before = await stats();
    const sessionId = await openSession(h.url);
    const ac = new AbortController();
    const res = await fetch(h.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: ACCEPT,
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: {
          name: "fault_progress",
          arguments: { steps: 100_000, delayMs: 20 },
          _meta: { progressToken: "p" },
        },
      }),
      signal: ac.signal,
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body?.getReader();
    const first = await reader?.read(); // the priming event: the client could resume from here
    expect(first?.done).toBe(false);
    ac.abort();
    await waitFor(async () => (await stats()).aborted.length > before.aborted.length, 30_000);
    expect((await stats()).cancelled.length).toBe(before.cancelled.length + 1);
  }, 60_000);
});
