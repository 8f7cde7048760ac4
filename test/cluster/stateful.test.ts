import { readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBin } from "../helpers/real-servers.js";
import { clusterUnavailableReason, startCluster, until, type ClusterRig } from "./harness.js";

const unavailable = clusterUnavailableReason();
const LEASE_MS = 1_500;

async function legacyClient(url: string, name: string): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

function text(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

function entity(name: string): Record<string, unknown> {
  return { entities: [{ name, entityType: "test", observations: [`made as ${name}`] }] };
}

/** The entity names in the shared knowledge-graph file (server-memory writes one JSON object a line). */
async function savedNames(file: string): Promise<Set<string>> {
  const lines = (await readFile(file, "utf8").catch(() => "")).split("\n").filter((l) => l.trim());
  const names = new Set<string>();
  for (const line of lines) {
    const item = JSON.parse(line) as { type?: string; name?: string };
    if (item.type === "entity" && item.name) names.add(item.name);
  }
  return names;
}

describe.skipIf(unavailable !== undefined)("a stateful server (server-memory) behind three replicas", () => {
  let rig: ClusterRig;
  let redis: Redis;
  let memoryFile: string;
  const owner = async (): Promise<string | null> => await redis.get("autonomous-mcp:owner:memory");

  beforeAll(async () => {
    const bin = resolveBin("@modelcontextprotocol/server-memory");
    // Every replica runs its own server-memory over ONE file on shared storage (MEMORY_FILE_PATH).
    rig = await startCluster({
      servers: (dir) => {
        memoryFile = path.join(dir, "shared", "memory.jsonl");
        // The owner queues every replica's writes: its queue must hold them all (100 here).
        return {
          memory: {
            command: process.execPath,
            args: [bin],
            env: { MEMORY_FILE_PATH: memoryFile },
            maxQueue: 128,
          },
        };
      },
      config: { cluster: { ownerLeaseMs: LEASE_MS } },
    });
    redis = new Redis(rig.redis.url, { maxRetriesPerRequest: 1 });
  }, 90_000);
  afterAll(async () => {
    redis?.disconnect();
    await rig?.stop();
  }, 30_000);

  it("100 concurrent writes spread over the replicas all persist: one owner runs them, the others forward", async () => {
    const clients = await Promise.all(
      Array.from({ length: 5 }, (_, i) => legacyClient(rig.url, `writer-${i}`)),
    );
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (clients[i % clients.length] as Client).callTool({
          name: "memory_create_entities",
          arguments: entity(`e${i}`),
        }),
      ),
    );
    expect(results.filter((r) => r.isError === true).map(text)).toEqual([]);
    const names = await savedNames(memoryFile);
    expect(Array.from({ length: 100 }, (_, i) => `e${i}`).filter((n) => !names.has(n))).toEqual([]);
    // The writes came in through every replica; one of them owns the server.
    expect(await owner()).toMatch(/^replica-\d\|\d+$/);
    for (const c of clients) await c.close();
  });

  it("a replica killed under load: its calls fail clearly, the next succeed, the owner lease moves", async () => {
    const lease = (await owner()) ?? "";
    const ownerIndex = Number(lease.slice("replica-".length, lease.indexOf("|")));
    const client = await legacyClient(rig.url, "under-load");
    // Writes in flight while the owner dies.
    const inFlight = Array.from({ length: 12 }, (_, i) =>
      client
        .callTool({ name: "memory_create_entities", arguments: entity(`load${i}`) })
        .then((r) => (r.isError ? `error: ${text(r)}` : "ok"))
        .catch((e: unknown) => `failed: ${String(e)}`),
    );
    const killedAt = Date.now();
    await rig.kill(ownerIndex);
    const outcomes = await Promise.all(inFlight);
    process.stderr.write(`cluster failover: in-flight outcomes: ${JSON.stringify([...new Set(outcomes)])}\n`);
    // Each either succeeded or failed with a message that says what happened (never a hang).
    for (const o of outcomes)
      expect(o).toMatch(/^ok$|lost the lease|did not answer|502|Bad Gateway|fetch failed|terminated|socket/i);
    // Then writes succeed again through nginx (failover time: death → first successful write).
    let first = 0;
    await until(
      "a write to succeed after the owner died",
      async () => {
        const r = await client
          .callTool({ name: "memory_create_entities", arguments: entity(`after${Date.now()}`) })
          .catch(() => undefined);
        if (r && r.isError !== true) return (first = Date.now());
        return undefined;
      },
      30_000,
    );
    const moved = await owner();
    expect(moved).toMatch(/^replica-\d\|\d+$/);
    expect(moved?.startsWith(`replica-${ownerIndex}|`)).toBe(false);
    expect(Number(moved?.split("|")[1])).toBeGreaterThan(Number(lease.split("|")[1]));
    // The next ones all succeed.
    for (let i = 0; i < 6; i++) {
      const r = await client.callTool({ name: "memory_create_entities", arguments: entity(`next${i}`) });
      expect(r.isError ?? false).toBe(false);
    }
    process.stderr.write(
      `cluster failover: replica death → first successful write through nginx: ${first - killedAt} ms\n`,
    );
    await client.close().catch(() => undefined);
  });
});
