import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { register as globalRegistry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { Metrics, metricsHandler } from "../../src/metrics.js";

function sample(body: string, series: string): number | undefined {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("Metrics", () => {
  it("counts calls, durations, retries and cache verdicts with the right labels", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.onCall({
      server: "github",
      tool: "github_get_issue",
      outcome: "ok",
      durationMs: 120,
      attempts: 1,
      cache: "miss",
    });
    m.onCall({
      server: "github",
      tool: "github_get_issue",
      outcome: "ok",
      durationMs: 0.4,
      attempts: 1,
      cache: "hit",
    });
    m.onCall({
      server: "github",
      tool: "github_get_issue",
      outcome: "ok",
      durationMs: 3,
      attempts: 1,
      cache: "coalesced",
    });
    m.onCall({
      server: "github",
      tool: "github_create_issue",
      outcome: "tool_error",
      durationMs: 2500,
      attempts: 3,
      cache: undefined,
    });
    m.onCall({
      server: "memory",
      tool: "memory_read_graph",
      outcome: "timeout",
      durationMs: 60_000,
      attempts: 2,
      cache: undefined,
    });
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(sample(body, 'amcp_calls_total{server="github",tool="github_get_issue",outcome="ok"}')).toBe(3);
    expect(
      sample(body, 'amcp_calls_total{server="github",tool="github_create_issue",outcome="tool_error"}'),
    ).toBe(1);
    expect(sample(body, 'amcp_calls_total{server="memory",tool="memory_read_graph",outcome="timeout"}')).toBe(
      1,
    );
    expect(sample(body, 'amcp_retries_total{server="github"}')).toBe(2);
    expect(sample(body, 'amcp_retries_total{server="memory"}')).toBe(1);
    expect(sample(body, "amcp_cache_hits_total")).toBe(2);
    expect(sample(body, "amcp_cache_misses_total")).toBe(1);

    expect(sample(body, 'amcp_call_duration_seconds_count{server="github",outcome="ok"}')).toBe(3);
    expect(sample(body, 'amcp_call_duration_seconds_sum{server="github",outcome="ok"}')).toBeCloseTo(
      0.1234,
      6,
    );
    expect(sample(body, 'amcp_call_duration_seconds_bucket{le="0.001",server="github",outcome="ok"}')).toBe(
      1,
    );
    expect(sample(body, 'amcp_call_duration_seconds_bucket{le="0.005",server="github",outcome="ok"}')).toBe(
      2,
    );
    expect(sample(body, 'amcp_call_duration_seconds_bucket{le="0.25",server="github",outcome="ok"}')).toBe(3);
    expect(
      sample(body, 'amcp_call_duration_seconds_bucket{le="2.5",server="github",outcome="tool_error"}'),
    ).toBe(1);
    expect(sample(body, 'amcp_call_duration_seconds_bucket{le="60",server="memory",outcome="timeout"}')).toBe(
      1,
    );
    expect(sample(body, 'amcp_call_duration_seconds_bucket{le="30",server="memory",outcome="timeout"}')).toBe(
      0,
    );
  });

  it("sets breaker, server-up, restarts and sessions", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setBreaker("github", "open");
    m.setBreaker("memory", "halfOpen");
    m.setBreaker("trello", "closed");
    m.setServerUp("github", false);
    m.setServerUp("memory", true);
    m.incRestarts("github");
    m.incRestarts("github");
    m.setSessions(4);
    m.setSessions(3);
    const { body } = await m.render();
    expect(sample(body, 'amcp_breaker_state{server="github"}')).toBe(2);
    expect(sample(body, 'amcp_breaker_state{server="memory"}')).toBe(1);
    expect(sample(body, 'amcp_breaker_state{server="trello"}')).toBe(0);
    expect(sample(body, 'amcp_server_up{server="github"}')).toBe(0);
    expect(sample(body, 'amcp_server_up{server="memory"}')).toBe(1);
    expect(sample(body, 'amcp_restarts_total{server="github"}')).toBe(2);
    expect(sample(body, "amcp_sessions")).toBe(3);
  });

  it("reads in-flight and queued gauges at scrape time; servers that went away disappear", async () => {
    let snapshot = { inflight: { github: 2, memory: 0 } as Record<string, number>, queued: { github: 5 } };
    let reads = 0;
    const m = new Metrics({
      defaultMetrics: false,
      gauges: () => {
        reads++;
        return snapshot;
      },
    });
    expect(reads).toBe(0);
    let { body } = await m.render();
    expect(reads).toBeGreaterThan(0);
    expect(sample(body, 'amcp_inflight_calls{server="github"}')).toBe(2);
    expect(sample(body, 'amcp_inflight_calls{server="memory"}')).toBe(0);
    expect(sample(body, 'amcp_queued_calls{server="github"}')).toBe(5);

    snapshot = { inflight: { memory: 1 }, queued: { github: 0 } };
    ({ body } = await m.render());
    expect(sample(body, 'amcp_inflight_calls{server="github"}')).toBeUndefined();
    expect(sample(body, 'amcp_inflight_calls{server="memory"}')).toBe(1);
    expect(sample(body, 'amcp_queued_calls{server="github"}')).toBe(0);
  });

  it("registers prefixed default process metrics on its own registry only; instances do not clash", async () => {
    const before = await globalRegistry.metrics();
    const a = new Metrics();
    const b = new Metrics();
    a.onCall({ server: "s", tool: "t", outcome: "ok", durationMs: 1, attempts: 1, cache: undefined });
    const bodyA = (await a.render()).body;
    const bodyB = (await b.render()).body;
    expect(bodyA).toMatch(/^amcp_process_cpu_user_seconds_total \d/m);
    expect(bodyA).toMatch(/^amcp_nodejs_heap_size_total_bytes \d/m);
    expect(sample(bodyA, 'amcp_calls_total{server="s",tool="t",outcome="ok"}')).toBe(1);
    expect(bodyB).not.toContain('amcp_calls_total{server="s"');
    expect(bodyB).toMatch(/^amcp_process_cpu_user_seconds_total \d/m);
    expect(await globalRegistry.metrics()).toBe(before);
    expect(globalRegistry.getSingleMetric("amcp_calls_total")).toBeUndefined();
  });
});

describe("metricsHandler", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function listen(m: Metrics): Promise<string> {
    const handler = metricsHandler(m);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server?.address() as AddressInfo).port}/metrics`;
  }

  it("serves the exposition over node:http with its content type; 405 for other methods", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.setSessions(7);
    const url = await listen(m);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(m.registry.contentType);
    expect(sample(await res.text(), "amcp_sessions")).toBe(7);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");

    const post = await fetch(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
