import type { ServerEvent } from "@modelcontextprotocol/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterChannels, type ClusterLink } from "../../src/cluster/channels.js";
import { RedisEventBus } from "../../src/cluster/events.js";
import { OwnerLeases } from "../../src/cluster/owners.js";
import { ClusterSessions, SESSION_MAX_AGE_MS } from "../../src/cluster/sessions.js";
import { REDIS_SERVER, startRedis, type TestRedis } from "../helpers/redis.js";
import { silentLogger } from "../helpers/pipeline.js";
import { connectedCluster, testClusterOptions } from "../helpers/cluster.js";
import type { ClusterState } from "../../src/cluster/index.js";
import { existsSync } from "node:fs";
import { until } from "./harness.js";

const noRedis = !existsSync(REDIS_SERVER);

/** Two "replicas" of the replica-sharing parts over one real Redis. */
describe.skipIf(noRedis)("sealed sessions and the Redis event bus", () => {
  let redis: TestRedis;
  const conns: ClusterState[] = [];
  let prefix = 0;

  /** A replica's real Redis connections (the ClusterState cluster mode opens). */
  async function link(replicaId: string, keyPrefix: string): Promise<ClusterLink> {
    const state = await connectedCluster(testClusterOptions(redis.url, replicaId, { keyPrefix }));
    conns.push(state);
    return state;
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of conns) await c.close();
    await redis?.cleanup();
  });

  it("a session sealed on one replica opens on another; tampered, foreign or expired ids open nowhere", async () => {
    const p = `s${++prefix}:`;
    const a = await ClusterSessions.create(
      new ClusterChannels(await link("A", p), silentLogger),
      silentLogger,
    );
    const b = await ClusterSessions.create(
      new ClusterChannels(await link("B", p), silentLogger),
      silentLogger,
    );
    const initialize = {
      protocolVersion: "2025-06-18",
      capabilities: { sampling: {} },
      clientInfo: { name: "c", version: "1" },
    };
    const id = a.seal({ initialize, principal: "alice" });
    expect(id).toMatch(/^s1\.[A-Za-z0-9_-]+$/);
    expect(b.open(id)).toEqual({ initialize, principal: "alice" });
    // One flipped character anywhere in the sealed part: not ours.
    const tampered = id.slice(0, 10) + (id[10] === "A" ? "B" : "A") + id.slice(11);
    expect(b.open(tampered)).toBeUndefined();
    for (const bad of ["", "s1.", "s1.%%%", "s2." + id.slice(3), id.slice(0, 20), `s1.${"A".repeat(20_000)}`])
      expect(b.open(bad)).toBeUndefined();
    // Another deployment (another key prefix: another secret) cannot open it.
    const other = await ClusterSessions.create(
      new ClusterChannels(await link("C", `o${prefix}:`), silentLogger),
      silentLogger,
    );
    expect(other.open(id)).toBeUndefined();
    // Past its maximum age it is refused.
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + SESSION_MAX_AGE_MS + 1_000;
      expect(b.open(id)).toBeUndefined();
    } finally {
      Date.now = realNow;
    }
  });

  it("a DELETE recorded on one replica is seen by all, and replicas holding a copy are told to close it", async () => {
    const p = `d${++prefix}:`;
    const a = await ClusterSessions.create(
      new ClusterChannels(await link("A", p), silentLogger),
      silentLogger,
    );
    const b = await ClusterSessions.create(
      new ClusterChannels(await link("B", p), silentLogger),
      silentLogger,
    );
    const closed: string[] = [];
    b.serve(
      () => undefined,
      (id) => closed.push(id),
    );
    const id = a.seal({ initialize: {}, principal: "bob" });
    expect(await b.isDeleted(id)).toBe(false);
    // Garbage on the sessions channel is dropped; what follows still arrives.
    const channel = `${p}sessions`;
    for (const junk of [
      "{oops",
      "null",
      JSON.stringify({ k: "reply", from: "X" }),
      JSON.stringify({ k: "push", s: 5 }),
    ])
      await conns[conns.length - 1]?.redis.publish(channel, junk);
    await a.deleted(id);
    expect(await b.isDeleted(id)).toBe(true);
    await until("B told to close its copy", () => (closed.includes(id) ? true : undefined));
  });

  it("events are coalesced: a burst of changes on one replica is one delivery per kind on the others", async () => {
    const p = `e${++prefix}:`;
    const remoteA: ServerEvent[] = [];
    const remoteB: ServerEvent[] = [];
    const a = await RedisEventBus.create(
      new ClusterChannels(await link("A", p), silentLogger),
      silentLogger,
      (e) => remoteA.push(e),
    );
    const b = await RedisEventBus.create(
      new ClusterChannels(await link("B", p), silentLogger),
      silentLogger,
      (e) => remoteB.push(e),
    );
    const heardOnB: ServerEvent[] = [];
    const heardOnA: ServerEvent[] = [];
    b.subscribe((e) => heardOnB.push(e));
    a.subscribe((e) => heardOnA.push(e));
    for (let i = 0; i < 100; i++) a.publish({ kind: "tools_list_changed" });
    for (let i = 0; i < 10; i++) a.publish({ kind: "resource_updated", uri: `mem://${i % 2}` });
    await until("B hears A's burst", () => (heardOnB.length >= 3 ? true : undefined));
    const kinds = (events: ServerEvent[]): string[] =>
      events.map((e) => (e.kind === "resource_updated" ? `${e.kind} ${e.uri}` : e.kind)).sort();
    const expected = ["resource_updated mem://0", "resource_updated mem://1", "tools_list_changed"];
    expect(kinds(heardOnB)).toEqual(expected);
    expect(kinds(remoteB)).toEqual(expected); // B's 2025-era sessions hear them too
    expect(kinds(heardOnA)).toEqual(expected); // A's own listeners, once each
    expect(remoteA).toEqual([]); // nothing echoed back to the publisher
    a.close();
    b.close();
  });

  it("a malformed message on the events channel is dropped and nothing else is lost", async () => {
    const p = `m${++prefix}:`;
    const remote: ServerEvent[] = [];
    const l = await link("B", p);
    const bus = await RedisEventBus.create(new ClusterChannels(l, silentLogger), silentLogger, (e) =>
      remote.push(e),
    );
    const channel = `${p}events`;
    await l.redis.publish(channel, "{not json");
    await l.redis.publish(
      channel,
      JSON.stringify({ from: "X", events: [{ kind: "bogus" }, { kind: "resource_updated" }] }),
    );
    await l.redis.publish(channel, JSON.stringify({ from: "X", events: "nope" }));
    await l.redis.publish(channel, JSON.stringify({ from: "X", events: [{ kind: "prompts_list_changed" }] }));
    await until("the good event", () => (remote.length > 0 ? true : undefined));
    expect(remote).toEqual([{ kind: "prompts_list_changed" }]);
    bus.close();
  });

  it("a stateful server's writes run on the lease owner; junk on its calls channel is dropped", async () => {
    const p = `o${++prefix}:`;
    const ran: string[] = [];
    const options = (me: string) => ({
      ttlMs: 1_000,
      servers: () => ["mem"],
      timeoutOf: () => 2_000,
      run: async (name: string) => {
        ran.push(`${me}:${name}`);
        return { content: [{ type: "text" as const, text: `ran on ${me}` }] };
      },
    });
    const la = await link("A", p);
    const a = await OwnerLeases.create(new ClusterChannels(la, silentLogger), silentLogger, options("A"));
    const b = await OwnerLeases.create(
      new ClusterChannels(await link("B", p), silentLogger),
      silentLogger,
      options("B"),
    );
    expect(a.ownsNow("mem")).toBe(true);
    expect(b.ownerOf("mem")).toBe("A");
    for (const junk of ["{", "null", JSON.stringify({ id: 1 }), JSON.stringify({ cancel: true })])
      await la.redis.publish(`${p}calls:A`, junk);
    const signal = new AbortController().signal;
    // On the owner: runs here (undefined); elsewhere: forwarded, the owner's result.
    expect(await a.forward("mem", "write", {}, undefined, signal)).toBeUndefined();
    expect(await b.forward("mem", "write", { x: 1 }, undefined, signal)).toEqual({
      content: [{ type: "text", text: "ran on A" }],
    });
    expect(ran).toEqual(["A:write"]);
    a.close();
    b.close();
  });
  it("after Redis restarts, every replica's channels are subscribed again: events still cross", async () => {
    const p = `r${++prefix}:`;
    const remoteB: ServerEvent[] = [];
    const la = await link("A", p);
    const lb = await link("B", p);
    const a = await RedisEventBus.create(
      new ClusterChannels(la, silentLogger),
      silentLogger,
      () => undefined,
    );
    await RedisEventBus.create(new ClusterChannels(lb, silentLogger), silentLogger, (e) => remoteB.push(e));
    await redis.stop();
    await redis.start();
    for (const state of conns.slice(-2)) await state.whenReady(AbortSignal.timeout(10_000));
    // Pub/sub is at-most-once and the resubscription goes out on "ready": publish until B hears one.
    await until("B hears A's change after the restart", () => {
      a.publish({ kind: "prompts_list_changed" });
      return remoteB.some((e) => e.kind === "prompts_list_changed") ? true : undefined;
    });
  });
});
