import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { IDEMPOTENCY_META_KEY } from "../../src/pipeline/middleware/idempotency.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { tempDir, type TempDir } from "../helpers/aggregator.js";
import { newWorld, replicaConfig, startReplica, textOf, until, type Replica } from "../helpers/cluster.js";

/**
 * Cluster mode with a real redis-server: three aggregators ("replicas") in this process, each over its
 * own in-memory downstream of one shared world, sharing state through Redis as serve wires them.
 */

let redis: TestRedis;
let dir: TempDir;
const open: Replica[] = [];
beforeAll(async () => {
  redis = await startRedis();
  dir = await tempDir("amcp-cluster-");
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await redis.cleanup();
  await dir.cleanup();
});

let prefixes = 0;
async function replicas(
  n: number,
  cluster: Record<string, unknown> = {},
): Promise<{ world: ReturnType<typeof newWorld>; r: Replica[] }> {
  const world = newWorld();
  const config = await replicaConfig(dir.dir, cluster);
  const keyPrefix = `case${++prefixes}:`;
  const r: Replica[] = [];
  for (const id of ["A", "B", "C"].slice(0, n)) {
    const replica = await startReplica(config, world, id, redis.url, { keyPrefix });
    open.push(replica);
    r.push(replica);
  }
  return { world, r };
}

const key = (k: string): Record<string, unknown> => ({ [IDEMPOTENCY_META_KEY]: k });

describe("shared breakers", () => {
  it("a breaker opened on one replica fails fast on the others, which never reach the server", async () => {
    const { world, r } = await replicas(3);
    const [a, b, c] = r as [Replica, Replica, Replica];
    world.down = true;
    // Two timeouts on A open its breaker (volumeThreshold 2).
    await a.call("work");
    await a.call("work");
    expect(a.agg.breakers.stateOf("inproc")).toBe("open");
    // Published at once; the budget is one second.
    await until(
      () => b.agg.breakers.stateOf("inproc") === "open" && c.agg.breakers.stateOf("inproc") === "open",
      1_000,
      "B and C mirror A's open breaker",
    );
    const before = world.calls["B"] ?? 0;
    const result = await b.call("work");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /inproc is unavailable \(circuit opened on replica A: .*(timed out|cancelled).*\); next attempt at/,
    );
    expect(world.calls["B"] ?? 0).toBe(before);
    // Plain steady state: no Redis round trip for a call (the state is mirrored).
    const trips = b.cluster?.roundTrips ?? 0;
    await b.call("work");
    expect(b.cluster?.roundTrips).toBe(trips);
  });

  it("one replica at a time runs the half-open probe; its success closes the breaker everywhere", async () => {
    const { world, r } = await replicas(3);
    const [a, b, c] = r as [Replica, Replica, Replica];
    world.down = true;
    await a.call("work");
    await a.call("work");
    await until(
      () => b.agg.breakers.stateOf("inproc") === "open" && c.agg.breakers.stateOf("inproc") === "open",
      1_000,
    );
    // Past the reset timeout (60 s) on every replica's clock: the breaker is half-open everywhere.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    expect(b.agg.breakers.stateOf("inproc")).toBe("halfOpen");
    world.down = false;
    const calls = (): number => (world.calls["B"] ?? 0) + (world.calls["C"] ?? 0);
    const before = calls();
    const outcomes = await Promise.all([b.call("work"), c.call("work"), b.call("work"), c.call("work")]);
    expect(calls() - before).toBe(1);
    const passed = outcomes.filter((o) => o.isError !== true);
    expect(passed).toHaveLength(1);
    for (const o of outcomes.filter((x) => x.isError === true))
      expect(textOf(o)).toMatch(
        /circuit half-open.*a probe call is in flight on another replica|probe call is in flight/,
      );
    await until(
      () => ["A", "B", "C"].every((_, i) => r[i]?.agg.breakers.stateOf("inproc") === "closed"),
      1_000,
      "closed everywhere",
    );
    expect(textOf(await a.call("work"))).toBe("worked");
  });

  it("a failed probe re-opens the breaker everywhere for another reset timeout", async () => {
    const { world, r } = await replicas(2);
    const [a, b] = r as [Replica, Replica];
    world.down = true;
    await a.call("work");
    await a.call("work");
    await until(() => b.agg.breakers.stateOf("inproc") === "open", 1_000);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 61_000 });
    const probe = await b.call("work");
    expect(textOf(probe)).toMatch(/timed out/);
    await until(() => a.agg.breakers.retryAt("inproc") !== undefined, 1_000, "A mirrors B's re-opening");
    expect(a.agg.breakers.stateOf("inproc")).toBe("open");
    expect(textOf(await a.call("work"))).toMatch(/circuit opened on replica B/);
  });
});

describe("idempotency across replicas", () => {
  it("concurrent repeats on other replicas wait for the first call and get its result; it ran once", async () => {
    const { world, r } = await replicas(3);
    let open!: () => void;
    world.gate = new Promise<void>((resolve) => (open = resolve));
    const first = r[0]!.call("write", { n: 1 }, key("k-concurrent"));
    await until(() => world.writes === 1, 5_000, "the first write reached the server");
    const repeats = [
      r[1]!.call("write", { n: 1 }, key("k-concurrent")),
      r[2]!.call("write", { n: 1 }, key("k-concurrent")),
    ];
    open();
    const results = await Promise.all([first, ...repeats]);
    expect(world.writes).toBe(1);
    for (const result of results) expect(textOf(result)).toBe('write {"n":1} #1 on A');
    // A sequential repeat, later, anywhere: the recorded result, no new write.
    expect(textOf(await r[1]!.call("write", { n: 1 }, key("k-concurrent")))).toBe('write {"n":1} #1 on A');
    expect(world.writes).toBe(1);
  });

  it("refuses a key reused for another call, and keeps keys of different principals apart", async () => {
    const { world, r } = await replicas(2);
    await r[0]!.call("write", { n: 1 }, key("k-reuse"), "alice");
    const reused = await r[1]!.call("write", { n: 2 }, key("k-reuse"), "alice");
    expect(reused.isError).toBe(true);
    expect(textOf(reused)).toMatch(/already used for a different call/);
    const bob = await r[1]!.call("write", { n: 1 }, key("k-reuse"), "bob");
    expect(textOf(bob)).toBe('write {"n":1} #2 on B');
    expect(world.writes).toBe(2);
  });

  it("records a failure that may have taken effect; a repeat is refused naming it", async () => {
    const { world, r } = await replicas(2);
    // The server's JSON-RPC error is forwarded as such (the first caller sees -32010)…
    await expect(r[0]!.call("fail", {}, key("k-fail"))).rejects.toThrow(/refused the write/);
    const repeat = await r[1]!.call("fail", {}, key("k-fail"));
    expect(textOf(repeat)).toMatch(
      /the first call with this idempotency key failed \(.*refused the write.*\).*use a new key/,
    );
    expect(world.calls["B"] ?? 0).toBe(0);
  });

  it("refuses a malformed key as invalid arguments, running nothing", async () => {
    const { world, r } = await replicas(1);
    const bad = await r[0]!.call("write", {}, { [IDEMPOTENCY_META_KEY]: 42 });
    expect(textOf(bad)).toMatch(/must be a string of 1 to 256 characters/);
    expect(world.writes).toBe(0);
  });
});

describe("idempotency in embedded mode (no Redis)", () => {
  it("runs a keyed call once: concurrent and sequential repeats get its result", async () => {
    const world = newWorld();
    const replica = await startReplica(await replicaConfig(dir.dir), world, "solo");
    open.push(replica);
    expect(replica.cluster).toBeUndefined();
    let release!: () => void;
    world.gate = new Promise<void>((resolve) => (release = resolve));
    const calls = [replica.call("write", {}, key("e1")), replica.call("write", {}, key("e1"))];
    await until(() => world.writes === 1);
    release();
    const results = await Promise.all(calls);
    expect(results.map(textOf)).toEqual(["write {} #1 on solo", "write {} #1 on solo"]);
    expect(textOf(await replica.call("write", {}, key("e1")))).toBe("write {} #1 on solo");
    expect(textOf(await replica.call("write", {}))).toBe("write {} #2 on solo");
    expect(world.writes).toBe(2);
  });
});

describe("rate limits shared by the replicas", () => {
  it("counts a client's calls on every replica, and the server's over all clients, in one round trip", async () => {
    const { r } = await replicas(3, {
      rateLimits: {
        perClient: { requestsPerSecond: 0.01, burst: 3 },
        perServer: { requestsPerSecond: 0.01, burst: 5 },
      },
    });
    const trips = r.map((x) => x.cluster?.roundTrips ?? 0);
    const alice = [];
    for (let i = 0; i < 4; i++) alice.push(await r[i % 3]!.call("work", {}, undefined, "alice"));
    expect(alice.slice(0, 3).every((x) => x.isError !== true)).toBe(true);
    expect(textOf(alice[3]!)).toMatch(
      /rate limit of client alice reached \(0\.01 calls\/s, burst 3\); retry in \d+ s/,
    );
    expect(textOf(await r[1]!.call("work", {}, undefined, "bob"))).toBe("worked");
    expect(textOf(await r[2]!.call("work", {}, undefined, "bob"))).toBe("worked");
    expect(textOf(await r[0]!.call("work", {}, undefined, "bob"))).toMatch(
      /rate limit of server inproc reached/,
    );
    const used = r.reduce((sum, x, i) => sum + (x.cluster?.roundTrips ?? 0) - (trips[i] ?? 0), 0);
    expect(used).toBe(7); // seven calls, one round trip each
  });
});

describe("the shared result cache", () => {
  it("serves one replica's cached read on the others, and a write anywhere drops it", async () => {
    const { world, r } = await replicas(2);
    const [a, b] = r as [Replica, Replica];
    expect(textOf(await a.call("read", { q: 1 }))).toBe('read {"q":1} #1');
    expect(textOf(await b.call("read", { q: 1 }))).toBe('read {"q":1} #1');
    expect(world.calls["B"] ?? 0).toBe(0);
    await b.call("write", {});
    expect(textOf(await a.call("read", { q: 1 }))).toBe('read {"q":1} #2');
  });
});
