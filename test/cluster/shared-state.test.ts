import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { clusterUnavailableReason, startCluster, until, type ClusterRig } from "./harness.js";

const unavailable = clusterUnavailableReason();
const IDEMPOTENCY = "io.autonomous-mcp/idempotencyKey";

async function legacyClient(url: string, name = "shared-state"): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

function text(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

async function ready(url: string): Promise<number> {
  const res = await fetch(new URL("/readyz", url));
  await res.body?.cancel();
  return res.status;
}

describe.skipIf(unavailable !== undefined)("state shared by three replicas behind nginx", () => {
  let rig: ClusterRig;
  const direct: Client[] = [];

  beforeAll(async () => {
    rig = await startCluster({
      servers: (dir) => ({
        // One write log for every replica's fault server: what ran, wherever it ran.
        fault: {
          ...faultServerEntry("normal", { FAULT_STATE_FILE: path.join(dir, "fault-state.json") }),
          sessionMode: "shared",
        },
        // Its own breaker: two timeouts open it.
        brk: {
          ...faultServerEntry("normal"),
          sessionMode: "shared",
          timeoutMs: 300,
          totalTimeoutMs: 300,
          retry: { retries: 0 },
          breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600_000 },
          healthCheckIntervalMs: 3_600_000,
        },
      }),
    });
    for (const r of rig.replicas) direct.push(await legacyClient(r.url, `direct-${r.index}`));
  }, 60_000);
  afterAll(async () => {
    for (const c of direct) await c.close().catch(() => undefined);
    await rig?.stop();
  }, 30_000);

  it("a breaker opened on one replica fails fast on the others", async () => {
    const [a, b, c] = direct as [Client, Client, Client];
    for (let i = 0; i < 2; i++) {
      const r = await a.callTool({ name: "brk_hang", arguments: {} });
      expect(r.isError).toBe(true);
    }
    for (const other of [b, c]) {
      const r = await until("the open breaker mirrored", async () => {
        const answer = await other.callTool({ name: "brk_echo", arguments: { message: "x" } });
        return answer.isError === true ? answer : undefined;
      });
      expect(text(r)).toMatch(/circuit opened on replica replica-0/);
    }
  });

  it("an idempotency key is honoured across replicas: one run, the same answer everywhere", async () => {
    const meta = { [IDEMPOTENCY]: `key-${Date.now()}` };
    const answers: string[] = [];
    for (const client of direct) {
      const r = await client.callTool({ name: "fault_write", arguments: { value: "once" }, _meta: meta });
      expect(r.isError ?? false).toBe(false);
      answers.push(text(r));
    }
    expect(new Set(answers).size).toBe(1);
    // A write without a key runs again (the log grew by exactly one for the keyed three).
    const next = await (direct[1] as Client).callTool({ name: "fault_write", arguments: { value: "again" } });
    expect(Number(text(next))).toBe(Number(answers[0]) + 1);
  });

  it("Redis stopped: replicas say not ready, shared-state calls fail clearly; restarted: they recover by themselves", async () => {
    const client = await legacyClient(rig.url, "outage");
    expect(text(await client.callTool({ name: "fault_echo", arguments: { message: "before" } }))).toBe(
      "before",
    );
    await rig.redis.stop();
    for (const r of rig.replicas)
      await until(`replica ${r.index} not ready`, async () =>
        (await ready(r.url)) === 503 ? true : undefined,
      );
    // A keyed call needs Redis: a clear error, nothing half-done.
    const keyed = await (direct[0] as Client).callTool({
      name: "fault_write",
      arguments: { value: "during" },
      _meta: { [IDEMPOTENCY]: `outage-${Date.now()}` },
    });
    expect(keyed.isError).toBe(true);
    expect(text(keyed)).toMatch(/shared cluster state is unavailable/);
    // A new session reaching a replica that has not seen it cannot be checked against deletes: 503, said so.
    const fresh = await fetch(rig.replicas[1]?.url as string, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": (direct[0]?.transport as StreamableHTTPClientTransport).sessionId as string,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(fresh.status).toBe(503);
    await fresh.body?.cancel();
    await rig.redis.start();
    for (const r of rig.replicas)
      await until(`replica ${r.index} ready again`, async () =>
        (await ready(r.url)) === 200 ? true : undefined,
      );
    // Everything works again through nginx, new sessions included.
    const after = await legacyClient(rig.url, "after-outage");
    for (let i = 0; i < 3; i++)
      expect(text(await after.callTool({ name: "fault_echo", arguments: { message: `after ${i}` } }))).toBe(
        `after ${i}`,
      );
    const keyedAgain = await after.callTool({
      name: "fault_write",
      arguments: { value: "after" },
      _meta: { [IDEMPOTENCY]: `after-${Date.now()}` },
    });
    expect(keyedAgain.isError ?? false).toBe(false);
    await after.close();
    await client.close().catch(() => undefined);
  });
});
