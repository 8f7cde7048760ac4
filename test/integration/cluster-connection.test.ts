import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAggregatorError } from "../../src/errors.js";
import type { ClusterState, ClusterStatus } from "../../src/cluster/index.js";
import { clusterOptions, redactedUrl } from "../../src/cluster/settings.js";
import { reassertRequestStateKey, sharedRequestStateKey } from "../../src/cluster/stateKey.js";
import { configSchema } from "../../src/config/schema.js";
import { parseCommandLine } from "../../src/cli/program.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { connectedCluster, testClusterOptions } from "../helpers/cluster.js";

function waitForStatus(state: ClusterState, want: ClusterStatus["state"]): Promise<ClusterStatus> {
  if (state.status().state === want) return Promise.resolve(state.status());
  return new Promise((resolve) => {
    const off = state.onStatus((s) => {
      if (s.state !== want) return;
      off();
      resolve(s);
    });
  });
}

describe("cluster settings", () => {
  const settings = configSchema.parse({}).cluster;

  it("is embedded (no cluster options) without a URL anywhere", () => {
    expect(clusterOptions(settings, undefined, {})).toBeUndefined();
  });

  it("takes --redis over $AUTONOMOUS_MCP_REDIS_URL over cluster.redisUrl", () => {
    const config = configSchema.parse({ cluster: { redisUrl: "redis://config:1" } }).cluster;
    const env = { AUTONOMOUS_MCP_REDIS_URL: "redis://env:2" };
    expect(clusterOptions(config, "redis://flag:3", env)?.redisUrl).toBe("redis://flag:3");
    expect(clusterOptions(config, undefined, env)?.redisUrl).toBe("redis://env:2");
    expect(clusterOptions(config, undefined, {})?.redisUrl).toBe("redis://config:1");
    expect(clusterOptions(config, undefined, {})?.replicaId).toMatch(/-\d+$/);
  });

  it("expands ${VAR} in cluster.redisUrl, and names a variable that is not set", () => {
    const config = configSchema.parse({ cluster: { redisUrl: "redis://:${REDIS_PW}@h:1" } }).cluster;
    expect(clusterOptions(config, undefined, { REDIS_PW: "s3cret" })?.redisUrl).toBe("redis://:s3cret@h:1");
    expect(() => clusterOptions(config, undefined, {})).toThrow(
      /cluster\.redisUrl: \$\{REDIS_PW\} is not set/,
    );
  });

  it("refuses a URL that is not redis:// and hides its password", () => {
    expect(() =>
      clusterOptions(settings, undefined, { AUTONOMOUS_MCP_REDIS_URL: "http://u:secret@h:1" }),
    ).toThrow(/must start with "redis:\/\/".*from AUTONOMOUS_MCP_REDIS_URL/);
    expect(() =>
      clusterOptions(settings, undefined, { AUTONOMOUS_MCP_REDIS_URL: "http://u:secret@h:1" }),
    ).not.toThrow(/secret/);
    expect(redactedUrl("redis://u:secret@h:1/0")).toBe("redis://u:***@h:1/0");
    const bad = configSchema.safeParse({ cluster: { redisUrl: "localhost:6379", keyPrefix: "a b" } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["cluster.redisUrl", "cluster.keyPrefix"]);
  });

  it("has --redis on serve, and refuses a non-Redis URL with one line", () => {
    const ok = parseCommandLine(["serve", "--redis", "redis://127.0.0.1:6390"]);
    expect(ok).toMatchObject({
      kind: "serve",
      args: { redis: "redis://127.0.0.1:6390", transport: "stdio" },
    });
    const bad = parseCommandLine(["serve", "--redis", "127.0.0.1:6390"]);
    expect(bad.kind).toBe("usage");
    expect(bad.kind === "usage" && bad.message).toMatch(/--redis.*redis:\/\//);
  });
});

describe("cluster connection (real redis-server)", () => {
  let redis: TestRedis;
  const states: ClusterState[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(states.map((s) => s.close()));
    await redis.cleanup();
  });

  it("gives every replica the same requestState key, written once", async () => {
    const a = await connectedCluster(testClusterOptions(redis.url, "a", { keyPrefix: "key-test:" }));
    const b = await connectedCluster(testClusterOptions(redis.url, "b", { keyPrefix: "key-test:" }));
    states.push(a, b);
    const [ka, kb] = await Promise.all([sharedRequestStateKey(a), sharedRequestStateKey(b)]);
    expect(ka.length).toBe(32);
    expect(Buffer.from(kb).equals(Buffer.from(ka))).toBe(true);
    expect(Buffer.from(await sharedRequestStateKey(a)).equals(Buffer.from(ka))).toBe(true);
    expect(a.roundTrips).toBe(2);
  });

  it("writes its key back when Redis lost it, and warns when another replica wrote a different one", async () => {
    const a = await connectedCluster(testClusterOptions(redis.url, "a", { keyPrefix: "reassert:" }));
    states.push(a);
    const key = await sharedRequestStateKey(a);
    const warnings: string[] = [];
    await a.redis.del(a.key("requestStateKey")); // Redis restarted empty
    await reassertRequestStateKey(a, key, (m) => warnings.push(m));
    expect(Buffer.from(await sharedRequestStateKey(a)).equals(Buffer.from(key))).toBe(true);
    expect(warnings).toEqual([]);
    await a.redis.set(a.key("requestStateKey"), Buffer.alloc(32, 7).toString("base64"));
    await reassertRequestStateKey(a, key, (m) => warnings.push(m));
    expect(warnings).toEqual([expect.stringMatching(/differs from this replica's.*restart this replica/)]);
  });

  it("fails fast while Redis is down, says why, and recovers by itself", async () => {
    const state = await connectedCluster(testClusterOptions(redis.url, "outage"));
    states.push(state);
    const reconnected = new Promise<void>((resolve) => state.onReconnect(resolve));
    await redis.stop();
    const down = await waitForStatus(state, "down");
    expect(down.reason).toBeTruthy();
    const failure = await state.call("ping", (r) => r.ping()).catch((e: unknown) => e);
    expect(isAggregatorError(failure, "CLUSTER_STATE_UNAVAILABLE")).toBe(true);
    expect(String((failure as Error).message)).toMatch(/shared cluster state is unavailable \(ping: /);
    await redis.start();
    await waitForStatus(state, "ready");
    await reconnected;
    expect(await state.call("ping", (r) => r.ping())).toBe("PONG");
  });
});
