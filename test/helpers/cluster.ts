import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult as SdkCallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Aggregator } from "../../src/aggregator.js";
import { DEFAULTS } from "../../src/config/defaults.js";
import { clusterSettingsSchema } from "../../src/config/clusterSchema.js";
import { loadConfig } from "../../src/config/load.js";
import { openCluster, type ClusterState } from "../../src/cluster/index.js";
import type { ClusterOptions } from "../../src/cluster/settings.js";
import { clusterStores } from "../../src/cluster/stores.js";
import { createAggregator } from "../../src/compose.js";
import { silentLogger } from "./pipeline.js";
import { writeConfig } from "./aggregator.js";

/** Cluster options for tests: the schema's defaults, this Redis, a key prefix and a replica id. */
export function testClusterOptions(
  url: string,
  replicaId: string,
  overrides: Record<string, unknown> = {},
): ClusterOptions {
  const settings = clusterSettingsSchema.parse({
    keyPrefix: `${DEFAULTS.cluster.keyPrefix}t${process.pid}:`,
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    ...overrides,
  });
  return { ...settings, redisUrl: url, replicaId };
}

/** An opened replica connection, once both links are ready. */
export async function connectedCluster(options: ClusterOptions): Promise<ClusterState> {
  const state = await openCluster(options, silentLogger);
  await state.whenReady(AbortSignal.timeout(10_000));
  return state;
}

/**
 * What every replica's downstream "inproc" shares: the world behind it (a remote service all replicas
 * call). Tools: `read` (read-only, cached by the config), `write` (counts executions; held while `gate`
 * is set), `fail` (answers a JSON-RPC error), `work` (read-only; never answers while `down`).
 */
export interface World {
  down: boolean;
  reads: number;
  writes: number;
  /** Calls received, by replica id. */
  readonly calls: Record<string, number>;
  /** While set, `write` waits for it before answering. */
  gate: Promise<void> | undefined;
}

export function newWorld(): World {
  return { down: false, reads: 0, writes: 0, calls: {}, gate: undefined };
}

function downstream(world: World, replica: string): InMemoryTransport {
  const server = new Server({ name: "inproc", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      { name: "read", inputSchema: { type: "object" }, annotations: { readOnlyHint: true } },
      { name: "write", inputSchema: { type: "object" }, annotations: { readOnlyHint: false } },
      { name: "fail", inputSchema: { type: "object" }, annotations: { readOnlyHint: false } },
      { name: "work", inputSchema: { type: "object" }, annotations: { readOnlyHint: true } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<SdkCallToolResult> => {
    world.calls[replica] = (world.calls[replica] ?? 0) + 1;
    const arg = JSON.stringify(request.params.arguments ?? {});
    switch (request.params.name) {
      case "read":
        return { content: [{ type: "text", text: `read ${arg} #${++world.reads}` }] };
      case "write": {
        const n = ++world.writes;
        if (world.gate) await world.gate;
        return { content: [{ type: "text", text: `write ${arg} #${n} on ${replica}` }] };
      }
      case "fail":
        throw new McpError(-32010, "the service refused the write");
      default:
        if (world.down)
          await new Promise<void>((resolve) => extra.signal.addEventListener("abort", () => resolve()));
        return { content: [{ type: "text", text: "worked" }] };
    }
  });
  const [ours, theirs] = InMemoryTransport.createLinkedPair();
  void server.connect(theirs);
  return ours;
}

export interface Replica {
  readonly id: string;
  readonly agg: Aggregator;
  /** Cluster mode only. */
  readonly cluster: ClusterState | undefined;
  /** tools/call of `inproc_<tool>` as a front would make it. */
  call(
    tool: string,
    args?: Record<string, unknown>,
    meta?: Record<string, unknown>,
    principal?: string,
  ): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** The config every test replica runs (`cluster` merged in). */
export async function replicaConfig(
  dir: string,
  cluster: Record<string, unknown> = {},
  name = "servers.config.json",
): Promise<string> {
  return await writeConfig(
    dir,
    {
      mcpServers: {
        inproc: {
          command: process.execPath,
          args: ["-e", ""],
          timeoutMs: 150,
          totalTimeoutMs: 150,
          retry: { retries: 0 },
          breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
          healthCheckIntervalMs: 3_600_000,
          tools: { overrides: { read: { cacheTtlMs: 60_000 } } },
        },
      },
      builtinWorkflows: false,
      cluster,
    },
    name,
  );
}

/**
 * One aggregator ("replica") over its own in-memory downstream of the shared `world`; in cluster mode
 * (`redisUrl` given) with its own Redis connections and the Redis stores, as serve wires them.
 */
export async function startReplica(
  configPath: string,
  world: World,
  id: string,
  redisUrl?: string,
  overrides: Record<string, unknown> = {},
): Promise<Replica> {
  const loaded = await loadConfig(configPath);
  const cluster = redisUrl
    ? await connectedCluster(
        testClusterOptions(redisUrl, id, { ...loaded.config.cluster, keyPrefix: "rt:", ...overrides }),
      )
    : undefined;
  const stores = cluster ? clusterStores(cluster, loaded.config.cluster, silentLogger) : undefined;
  const agg = createAggregator(loaded, {
    log: silentLogger,
    prespawned: new Map([["inproc", { transport: downstream(world, id) }]]),
    ...(cluster ? { cluster, shared: stores } : {}),
  });
  const detach = stores?.breakers.attach(agg.breakers, () => agg.serverList().map((s) => s.name));
  await agg.start({}, { graceMs: 10_000 });
  let n = 0;
  return {
    id,
    agg,
    cluster,
    call: (tool, args = {}, meta, principal) =>
      agg.callTool(`inproc_${tool}`, args, {
        sessionId: `${id}-session-${++n}`,
        signal: new AbortController().signal,
        clientCapabilities: undefined,
        ...(meta ? { meta } : {}),
        ...(principal ? { principal } : {}),
      }),
    close: async () => {
      detach?.();
      await agg.close();
      await cluster?.close();
    },
  };
}

/** The text of a tool result's first content item. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

/** Polls `predicate` (on the real clock, also under a faked Date) until it holds; throws after `ms`. */
export async function until(predicate: () => boolean, ms = 5_000, what = "condition"): Promise<void> {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
