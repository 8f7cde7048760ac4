import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operationalRoutes } from "../../src/front/routes.js";
import { Metrics } from "../../src/metrics.js";
import { IDEMPOTENCY_META_KEY } from "../../src/pipeline/middleware/idempotency.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { tempDir, type TempDir } from "../helpers/aggregator.js";
import { newWorld, replicaConfig, startReplica, textOf, until, type Replica } from "../helpers/cluster.js";

/**
 * Redis goes away under a running replica and comes back: /readyz says not ready and why, calls that
 * need shared state fail with CLUSTER_STATE_UNAVAILABLE's text, the others still work, and everything
 * recovers by itself.
 */

let redis: TestRedis;
let dir: TempDir;
let replica: Replica;
/** Same Redis, no rate limits: its plain calls need no shared state. */
let plain: Replica;
let http: Server;
let base: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = await tempDir("amcp-outage-");
  const config = await replicaConfig(dir.dir, {
    rateLimits: { perServer: { requestsPerSecond: 1_000, burst: 1_000 } },
  });
  replica = await startReplica(config, newWorld(), "A", redis.url);
  plain = await startReplica(await replicaConfig(dir.dir, {}, "plain.json"), newWorld(), "B", redis.url);
  const metrics = new Metrics({ defaultMetrics: false });
  if (replica.cluster) metrics.useCluster(replica.cluster);
  const routes = operationalRoutes(replica.agg, metrics, () => 0, undefined, replica.cluster);
  http = createServer((req, res) => void routes[req.url ?? ""]?.(req, res));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await replica.close();
  await plain.close();
  await new Promise((resolve) => http.close(resolve));
  await redis.cleanup();
  await dir.cleanup();
});

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const keyed = (k: string): Record<string, unknown> => ({ [IDEMPOTENCY_META_KEY]: k });

describe("Redis unreachable", () => {
  it("is ready with Redis, and counts one round trip per rate-limited call in /metrics", async () => {
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body["cluster"]).toMatchObject({ replica: "A", state: "ready" });
    const before = replica.cluster?.roundTrips ?? 0;
    for (let i = 0; i < 5; i++) expect(textOf(await replica.call("work"))).toBe("worked");
    expect((replica.cluster?.roundTrips ?? 0) - before).toBe(5);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^amcp_redis_round_trips_total \d+$/m);
    expect(metrics).toMatch(/^amcp_cluster_ready 1$/m);
  });

  it("says not ready and why, fails calls that need shared state clearly, and recovers", async () => {
    await redis.stop();
    await until(() => replica.cluster?.status().state === "down", 10_000, "the replica sees Redis gone");
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ ready: false, cluster: { replica: "A", state: "down" } });
    expect(String((down.body["cluster"] as Record<string, unknown>)["reason"])).not.toBe("");
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^amcp_cluster_ready 0$/m);

    // Rate-limited (shared buckets) and idempotent calls need Redis: a clear error, nothing run.
    const limited = await replica.call("work");
    expect(textOf(limited)).toMatch(
      /^inproc_work: shared cluster state is unavailable \(rate limit: .*\); try again once Redis is back$/,
    );
    const idem = await replica.call("write", {}, keyed("outage-1"));
    expect(textOf(idem)).toMatch(/shared cluster state is unavailable \(idempotency: /);

    // Calls that need no shared state still work: a plain call, and a cached read (the cache is bypassed).
    expect(textOf(await plain.call("work"))).toBe("worked");
    expect(textOf(await plain.call("read", { q: 1 }))).toBe('read {"q":1} #1');
    expect(textOf(await plain.call("read", { q: 1 }))).toBe('read {"q":1} #2');
    // A write to a server whose results are cached must drop the shared entries first: refused, not run.
    expect(textOf(await plain.call("write", {}))).toMatch(
      /shared cluster state is unavailable \(cache invalidation: /,
    );

    await redis.start();
    await until(
      () => replica.cluster?.status().state === "ready",
      15_000,
      "the replica reconnects by itself",
    );
    expect((await readyz()).status).toBe(200);
    expect(textOf(await replica.call("work"))).toBe("worked");
    expect(textOf(await plain.call("write", {}))).toBe("write {} #1 on B");
    const first = await replica.call("write", {}, keyed("outage-1"));
    expect(textOf(first)).toMatch(/^write \{\} #1 on A$/);
    expect(textOf(await replica.call("write", {}, keyed("outage-1")))).toBe(textOf(first));
  });
});
