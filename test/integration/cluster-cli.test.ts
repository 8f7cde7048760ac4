import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  memoryEntry,
  startHttp,
  tempDir,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

/**
 * The built CLI in cluster mode: two HTTP replicas (child processes) sharing one redis-server, each in
 * front of server-memory on one shared file, driven by real SDK clients sending the idempotency key in
 * the request's _meta.
 */

let redis: TestRedis;
let dir: TempDir;
const replicas: HttpHarness[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = await tempDir("amcp-cluster-cli-");
  const config = await writeConfig(dir.dir, { mcpServers: { memory: memoryEntry(dir.dir) } });
  for (let i = 0; i < 2; i++)
    replicas.push(
      await startHttp(config, { args: ["--redis", redis.url], env: { AUTONOMOUS_MCP_LOG_LEVEL: "warn" } }),
    );
}, 60_000);
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await redis.cleanup();
  await dir.cleanup();
});

describe("serve --redis (built CLI)", () => {
  it("reports the cluster link on /readyz", async () => {
    const body = (await (await fetch(new URL("/readyz", replicas[0]!.url))).json()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ ready: true, cluster: { state: "ready" } });
  });

  it("honours an idempotency key sent by clients of two replicas: the write ran once", async () => {
    const [a, b] = await Promise.all(replicas.map((r) => r.connect()));
    const call = {
      name: "memory_create_entities",
      arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["wrote notes"] }] },
      _meta: { "io.autonomous-mcp/idempotencyKey": "create-ada-1" },
    };
    const first = await a!.callTool(call);
    const repeat = await b!.callTool(call);
    expect(first.isError).not.toBe(true);
    expect(repeat).toEqual(first);
    // Without the key, the same write on the second replica is a new call (memory answers: nothing new).
    const again = await b!.callTool({ name: call.name, arguments: call.arguments });
    expect(again).not.toEqual(first);
    const graph = await a!.callTool({ name: "memory_read_graph", arguments: {} });
    const text = (graph.content as { text: string }[])[0]?.text ?? "";
    const entities = (JSON.parse(text) as { entities: { name: string }[] }).entities;
    expect(entities.filter((e) => e.name === "Ada")).toHaveLength(1);
  });

  it("refuses a Redis URL that is not redis:// with exit 2 and one line", () => {
    const config = path.join(dir.dir, "servers.config.json");
    const run = spawnSync(
      process.execPath,
      [CLI, "serve", "-c", config, "--transport", "http", "--port", "0"],
      {
        env: { PATH: process.env["PATH"] ?? "", HOME: dir.dir, AUTONOMOUS_MCP_REDIS_URL: "localhost:6379" },
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /the Redis URL must start with "redis:\/\/" or "rediss:\/\/" \(from AUTONOMOUS_MCP_REDIS_URL\)/,
    );
    const flag = spawnSync(process.execPath, [CLI, "serve", "-c", config, "--redis", "localhost:6379"], {
      env: { PATH: process.env["PATH"] ?? "", HOME: dir.dir },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(flag.status).toBe(2);
    expect(flag.stderr.trim()).toBe(
      'autonomous-mcp serve: --redis must be a redis:// or rediss:// URL, got "localhost:6379"; see autonomous-mcp serve --help',
    );
  });
});
