#!/usr/bin/env node
/**
 * Cluster-mode benchmark (issue #17): what sharing state through Redis and a load balancer costs, measured
 * in one run on one machine (never test assertions). Method and results: docs/operations.md, "Running
 * several replicas"; the runs behind it: bench/results/cluster-*.json.
 *
 *   npm run build && node bench/cluster.mjs [--only=latency,failover,scale] [--replicas=3]
 *        [--concurrency=16] [--scale=1,2,3] [--calls=1000] [--warmup=500] [--seconds=5] [--out=FILE]
 *
 *   latency   one replica in the embedded single-process mode and one in cluster mode (`--redis`), the
 *             same downstream (server-everything `echo`), sequential calls in interleaved batches: p50/p99
 *             per path and the added p50; the cluster replica is also measured through nginx (one
 *             replica behind the rig's nginx), and three replicas behind nginx (a legacy session's
 *             requests land on every replica in turn). Then N calls per cluster path: Redis round trips
 *             per steady-state tools/call, from the replica's own counter (`amcp_redis_round_trips_total` in
 *             /metrics), and the commands Redis ran for them (`INFO stats` total_commands_processed, minus
 *             the bench's own INFO and the background of an idle window of the same length; commands run
 *             by a Lua script count too), by name (`INFO commandstats`). Two more cluster paths show what
 *             a shared piece adds: calls carrying an idempotency key (a fresh one each, so each call
 *             runs) and a replica with rate limits per client and per server (limits that never refuse).
 *   failover  --replicas replicas behind nginx, --concurrency clients (one legacy session each) calling in
 *             a closed loop; replica-1 is killed (SIGKILL); reported: time from the kill to the first
 *             successful call sent after it, calls that failed and why, the longest gap between two
 *             successful calls after the kill.
 *   scale     for each count in --scale: that many replicas behind nginx, --concurrency clients in a
 *             closed loop for --seconds; calls per second and p50, next to one embedded process at the
 *             same concurrency. On a 2-core machine every process shares the same two cores (the numbers
 *             show the overhead, not the scaling); run it on a machine with more cores to see throughput
 *             grow with replicas (e.g. --scale=1,2,4,8 --concurrency=64).
 *
 * The processes: the cluster tests' rig, test/cluster/harness.ts (a redis-server, replicas of the built CLI
 * with --redis, nginx round robin; Debian's redis-server and nginx, free loopback ports), bundled on the fly
 * with esbuild into bench/.cache/ so that this plain-JavaScript bench can use it. The embedded single
 * process is `serve --port 0` without --redis.
 * Markdown tables on stdout, progress on stderr, JSON to --out (default bench/results/cluster-latest.json).
 */
import { execFileSync, spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import {
  BENCH_DIR,
  CLI,
  ROOT,
  descendants,
  killPids,
  machineInfo,
  sdk,
  serverEntry,
  tempDir,
} from "./lib/procs.mjs";
import { fmtMs, fmtSigned, round, summarize, table } from "./lib/stats.mjs";

const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");

const { values: flags } = parseArgs({
  options: {
    only: { type: "string", default: "latency,failover,scale" },
    replicas: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    scale: { type: "string" },
    calls: { type: "string", default: "1000" },
    warmup: { type: "string", default: "500" },
    batch: { type: "string", default: "50" },
    seconds: { type: "string", default: "5" },
    out: { type: "string", default: path.join(BENCH_DIR, "results", "cluster-latest.json") },
    help: { type: "boolean", short: "h" },
  },
});
if (flags.help) {
  process.stdout.write(
    "node bench/cluster.mjs [--only=latency,failover,scale] [--replicas=3] [--concurrency=16] [--scale=1,2,3] [--calls=1000] [--warmup=500] [--seconds=5] [--out=FILE]\n",
  );
  process.exit(0);
}
const P = {
  replicas: Number(flags.replicas),
  concurrency: Number(flags.concurrency),
  scale: (flags.scale ?? Array.from({ length: Number(flags.replicas) }, (_, i) => i + 1).join(","))
    .split(",")
    .map(Number),
  calls: Number(flags.calls),
  warmup: Number(flags.warmup),
  batch: Number(flags.batch),
  seconds: Number(flags.seconds),
};
const only = new Set(flags.only.split(","));
const log = (m) => process.stderr.write(`cluster-bench: ${m}\n`);
const TOOL = "everything_echo";
const ARGS = { message: "hello" };

/** test/cluster/harness.ts (the cluster tests' rig), bundled for this plain-JavaScript bench. */
async function loadRig() {
  const entry = path.join(ROOT, "test", "cluster", "harness.ts");
  if (!existsSync(entry)) throw new Error(`bench/cluster.mjs: ${path.relative(ROOT, entry)} is missing`);
  // In bench/.cache/ the rig's own `new URL("../../dist/cli.js", import.meta.url)` still names dist/cli.js.
  const outfile = path.join(BENCH_DIR, ".cache", "cluster-harness.mjs");
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "error",
  });
  const rig = await import(pathToFileURL(outfile).href);
  const why = rig.clusterUnavailableReason();
  if (why) throw new Error(`bench/cluster.mjs: ${why}`);
  return rig;
}
const { startCluster } = await loadRig();

/** The value of one Prometheus series in an exposition (0 when absent). */
function metric(text, series) {
  for (const line of text.split("\n"))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

/** `INFO <section>` of the rig's Redis as key → value. */
function redisInfo(port, section) {
  const text = execFileSync("redis-cli", ["-p", String(port), "info", section], { encoding: "utf8" });
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\w+):(.*)$/.exec(line);
    if (m) out[m[1]] = /^-?\d+(\.\d+)?$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  return out;
}

/** One embedded process (no Redis): `serve --transport http --port 0`; its URL and stop(). */
async function startSingle() {
  const child = spawn(
    process.execPath,
    [CLI, "serve", "-c", configFile, "--transport", "http", "--port", "0"],
    {
      env: { PATH: process.env.PATH ?? "", HOME: home, AUTONOMOUS_MCP_LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  const url = await new Promise((resolve, reject) => {
    child.stderr.on("data", (c) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`single process exited (${code}): ${err.slice(-2000)}`)));
  });
  return {
    url,
    stop: async () => {
      const tree = descendants(child.pid);
      await killPids([child.pid], 5_000);
      await killPids(tree, 1_000);
    },
  };
}

const home = await tempDir("cluster");
// One server-everything per replica, shared by its client sessions (else every client session on every
// replica starts one: the scale run would measure process starts). The limits of bench/run.mjs: the HTTP
// rate limit and the queue must not throttle the closed loops.
const servers = {
  everything: { ...serverEntry("everything", path.join(home, "everything")), sessionMode: "shared" },
};
const BENCH_CONFIG = {
  http: { rateLimit: { requestsPerSecond: 1_000_000, burst: 1_000_000 } },
  defaults: { maxQueue: 4096 },
};
const configFile = path.join(home, "agg.json");
writeFileSync(configFile, `${JSON.stringify({ ...BENCH_CONFIG, mcpServers: servers }, null, 2)}\n`);
const results = { at: new Date().toISOString(), machine: machineInfo(), params: P, loadBefore: os.loadavg() };
const cleanups = [];

/** A legacy (2025) SDK client session on `url`. */
async function connect(url) {
  const client = new Client({ name: "amcp-cluster-bench", version: "1.0.0" }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  // As bench/lib/endpoints.mjs does: undici adds an abort listener per request to the transport's
  // long-lived signal; lifting the limit on that one signal keeps the output readable.
  const signal = transport._abortController?.signal;
  if (signal) setMaxListeners(0, signal);
  return client;
}

/** One call (with `_meta` when given): its duration in ms, or the error text. */
async function call(client, meta) {
  const start = performance.now();
  try {
    const r = await client.callTool(
      meta ? { name: TOOL, arguments: ARGS, _meta: meta } : { name: TOOL, arguments: ARGS },
    );
    if (r.isError) return { start, end: performance.now(), error: JSON.stringify(r.content).slice(0, 200) };
    return { start, end: performance.now() };
  } catch (error) {
    return { start, end: performance.now(), error: String(error?.message ?? error).slice(0, 200) };
  }
}

/** A rig replica's /metrics. */
async function metricsOf(replica) {
  return (await fetch(replica.url.replace(/\/mcp$/, "/metrics"))).text();
}

// ---------------------------------------------------------------------------------------------
// latency + Redis round trips

/** A fresh idempotency key per call (each call runs: the cost of claiming and recording a key). */
let keySeq = 0;
const idempotent = () => ({ "io.autonomous-mcp/idempotencyKey": `bench-${process.pid}-${++keySeq}` });

/**
 * Redis round trips per steady-state call on a path: n calls to warm up, then n counted by its replicas
 * (`amcp_redis_round_trips_total`, summed) and by Redis (`INFO stats` total_commands_processed, minus the
 * bench's own INFO and the background of an idle window as long as the calls took), by command name.
 */
async function countTrips({ client, replicas, redisPort, meta }) {
  const n = P.calls;
  for (let i = 0; i < n; i++) await call(client, meta?.());
  const t0 = performance.now();
  const texts0 = await Promise.all(replicas.map(metricsOf));
  const trips0 = texts0.reduce((sum, t) => sum + metric(t, "amcp_redis_round_trips_total"), 0);
  const cmd0 = redisInfo(redisPort, "commandstats");
  const stats0 = redisInfo(redisPort, "stats").total_commands_processed;
  const errors = [];
  for (let i = 0; i < n; i++) {
    const c = await call(client, meta?.());
    if (c.error) errors.push(c.error);
  }
  const stats1 = redisInfo(redisPort, "stats").total_commands_processed;
  const callMs = performance.now() - t0;
  const cmd1 = redisInfo(redisPort, "commandstats");
  const texts1 = await Promise.all(replicas.map(metricsOf));
  const trips1 = texts1.reduce((sum, t) => sum + metric(t, "amcp_redis_round_trips_total"), 0);
  const idle0 = redisInfo(redisPort, "stats").total_commands_processed;
  await new Promise((r) => setTimeout(r, callMs));
  const idle1 = redisInfo(redisPort, "stats").total_commands_processed;
  // An INFO is counted once it has answered: stats1 - stats0 includes stats0's own INFO (likewise idle).
  const background = Math.max(0, idle1 - idle0 - 1);
  const byName = {};
  for (const [k, v] of Object.entries(cmd1)) {
    const calls1 = Number(/calls=(\d+)/.exec(String(v))?.[1] ?? 0);
    const calls0 = Number(/calls=(\d+)/.exec(String(cmd0[k] ?? ""))?.[1] ?? 0);
    const name = k.replace(/^cmdstat_/, "");
    if (calls1 > calls0 && name !== "info") byName[name] = round((calls1 - calls0) / n, 3);
  }
  return {
    calls: n,
    errors: errors.length,
    lastError: errors.at(-1),
    counterPresent: texts0.every((t) => t.includes("amcp_redis_round_trips_total")),
    perCallCounter: round((trips1 - trips0) / n, 3),
    perCallRedis: round((stats1 - stats0 - 1 - background) / n, 3),
    backgroundCommands: background,
    windowMs: round(callMs, 0),
    commandsPerCall: byName,
  };
}

async function latency() {
  log("latency: an embedded process; cluster replicas (Redis, nginx) with the rig, one with rate limits");
  const single = await startSingle();
  cleanups.push(() => single.stop());
  const rig = await startCluster({ servers, config: BENCH_CONFIG, replicas: 1 });
  cleanups.push(() => rig.stop());
  // Limits that never refuse a call: the cost of checking them (one token bucket per client and per server).
  const bucket = { requestsPerSecond: 1_000_000, burst: 1_000_000 };
  const limited = await startCluster({
    servers,
    config: { ...BENCH_CONFIG, cluster: { rateLimits: { perClient: bucket, perServer: bucket } } },
    replicas: 1,
  });
  cleanups.push(() => limited.stop());
  // Three replicas behind nginx: a legacy session's requests land on each replica in turn.
  const three = await startCluster({ servers, config: BENCH_CONFIG, replicas: 3 });
  cleanups.push(() => three.stop());
  const replica = rig.replicas[0];
  const paths = [
    { id: "single", label: "one process, embedded (no Redis)", url: single.url },
    { id: "cluster", label: "cluster mode (--redis), direct", url: replica.url, rig },
    { id: "cluster+nginx", label: "cluster mode, through nginx", url: rig.url },
    {
      id: "three+nginx",
      label: "cluster mode, three replicas through nginx (a session's requests on every replica)",
      url: three.url,
      rig: three,
    },
    {
      id: "idempotency",
      label: "cluster mode, an idempotency key per call",
      url: replica.url,
      rig,
      meta: idempotent,
    },
    {
      id: "rate-limits",
      label: "cluster mode, rate limits per client and per server",
      url: limited.replicas[0].url,
      rig: limited,
    },
  ];
  for (const p of paths) Object.assign(p, { client: await connect(p.url), samples: [], errors: [] });
  const warm = Math.ceil(P.warmup / P.batch);
  const rounds = Math.ceil(P.calls / P.batch);
  log(`latency: ${P.calls} calls per path after ${P.warmup} warm-up, batches of ${P.batch}, interleaved`);
  for (let r = 0; r < warm + rounds; r++) {
    const order = [...paths.slice(r % paths.length), ...paths.slice(0, r % paths.length)];
    for (const p of order)
      for (let i = 0; i < P.batch; i++) {
        const c = await call(p.client, p.meta?.());
        if (c.error) p.errors.push(c.error);
        else if (r >= warm) p.samples.push(c.end - c.start);
      }
  }
  const single50 = summarize(paths[0].samples).p50;
  results.latency = paths.map((p) => {
    const s = summarize(p.samples);
    return {
      path: p.id,
      label: p.label,
      n: s.n,
      p50: round(s.p50),
      p90: round(s.p90),
      p99: round(s.p99),
      addedP50: round(s.p50 - single50),
      errors: p.errors.length,
      lastError: p.errors.at(-1),
    };
  });
  log("latency: Redis round trips per call");
  results.roundTrips = { counter: "amcp_redis_round_trips_total" };
  for (const p of paths.filter((x) => x.rig))
    results.roundTrips[p.id] = await countTrips({
      client: p.client,
      replicas: p.rig.replicas,
      redisPort: p.rig.redis.port,
      meta: p.meta,
    });
  for (const p of paths) await p.client.close().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// failover

async function failover() {
  log(`failover: Redis, ${P.replicas} replicas, nginx; ${P.concurrency} clients`);
  const cluster = await startCluster({ servers, config: BENCH_CONFIG, replicas: P.replicas });
  cleanups.push(() => cluster.stop());
  let clients;
  try {
    clients = await Promise.all(Array.from({ length: P.concurrency }, () => connect(cluster.url)));
    for (const c of clients) {
      const r = await call(c);
      if (r.error) throw new Error(r.error);
    }
  } catch (error) {
    results.failover = {
      skipped: `a legacy session through nginx failed: ${String(error?.message ?? error)}`,
    };
    log(`failover: skipped: ${results.failover.skipped}`);
    return;
  }
  const records = [];
  let stop = false;
  let killAt;
  const workers = clients.map(async (c) => {
    while (!stop) records.push(await call(c));
  });
  await new Promise((r) => setTimeout(r, 1_000));
  killAt = performance.now();
  await cluster.kill(0);
  const killedAt = performance.now();
  await new Promise((r) => setTimeout(r, 3_000));
  stop = true;
  await Promise.all(workers);
  const after = records.filter((r) => r.start >= killAt).sort((a, b) => a.end - b.end);
  const firstOk = after.find((r) => !r.error);
  const okEnds = records
    .filter((r) => !r.error && r.end >= killAt)
    .map((r) => r.end)
    .sort((a, b) => a - b);
  let gap = okEnds.length ? okEnds[0] - killAt : Number.NaN;
  for (let i = 1; i < okEnds.length; i++) gap = Math.max(gap, okEnds[i] - okEnds[i - 1]);
  const failed = records.filter((r) => r.error && r.end >= killAt);
  const reasons = {};
  for (const f of failed) reasons[f.error] = (reasons[f.error] ?? 0) + 1;
  results.failover = {
    replicas: P.replicas,
    clients: P.concurrency,
    killMs: round(killedAt - killAt),
    firstSuccessAfterKillMs: firstOk ? round(firstOk.end - killAt) : null,
    longestGapMs: round(gap),
    callsAfterKill: records.filter((r) => r.end >= killAt).length,
    failedAfterKill: failed.length,
    reasons,
  };
  for (const c of clients) await c.close().catch(() => undefined);
  await cluster.stop();
}

// ---------------------------------------------------------------------------------------------
// scale

async function closedLoop(clients, ms) {
  const samples = [];
  const errors = [];
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const r = await call(c);
        if (r.error) errors.push(r.error);
        else samples.push(r.end - r.start);
      }
    }),
  );
  return { samples, errors, elapsedMs: performance.now() - t0 };
}

async function scale() {
  results.scale = [];
  const ms = P.seconds * 1000;
  const measure = async (label, replicas, url) => {
    let clients;
    try {
      clients = await Promise.all(Array.from({ length: P.concurrency }, () => connect(url)));
      await closedLoop(clients, 1_000);
    } catch (error) {
      results.scale.push({ label, replicas, skipped: String(error?.message ?? error).slice(0, 200) });
      return;
    }
    const w = await closedLoop(clients, ms);
    const s = summarize(w.samples);
    results.scale.push({
      label,
      replicas,
      concurrency: P.concurrency,
      callsPerSecond: round(w.samples.length / (w.elapsedMs / 1000), 1),
      p50: round(s.p50),
      p99: round(s.p99),
      errors: w.errors.length,
      lastError: w.errors.at(-1),
    });
    for (const c of clients) await c.close().catch(() => undefined);
  };
  log(`scale: one embedded process, ${P.concurrency} clients, ${P.seconds} s`);
  const single = await startSingle();
  await measure("one process, embedded (direct)", 1, single.url);
  await single.stop();
  for (const r of P.scale) {
    log(`scale: ${r} replica(s) behind nginx, ${P.concurrency} clients, ${P.seconds} s`);
    const cluster = await startCluster({ servers, config: BENCH_CONFIG, replicas: r });
    await measure(`cluster, ${r} replica(s) behind nginx`, r, cluster.url);
    await cluster.stop();
  }
}

// ---------------------------------------------------------------------------------------------

try {
  if (only.has("latency")) await latency();
  if (only.has("failover")) await failover();
  if (only.has("scale")) await scale();
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}

results.loadAfter = os.loadavg();
const load = (l) => l.map((x) => x.toFixed(1)).join(" ");
const out = [];
out.push(`# Cluster bench — ${results.at}\n`);
out.push(
  `${os.cpus().length} cores, Node ${process.version}, load average ${load(results.loadBefore)} before, ` +
    `${load(results.loadAfter)} after; ${JSON.stringify(P)}\n`,
);
if (results.latency) {
  out.push("\n## Latency per call (sequential, server-everything echo)\n");
  out.push(
    table(
      ["path", "calls", "p50", "p90", "p99", "added p50", "errors"],
      results.latency.map((r) => [
        r.label,
        String(r.n),
        fmtMs(r.p50),
        fmtMs(r.p90),
        fmtMs(r.p99),
        fmtSigned(r.addedP50),
        String(r.errors),
      ]),
    ),
  );
  out.push("\n## Redis round trips per steady-state tools/call\n");
  const trips = Object.entries(results.roundTrips).filter(([k]) => k !== "counter");
  out.push(
    table(
      ["path", "calls", "round trips (the replica's counter)", "commands Redis ran", "by name", "errors"],
      trips.map(([id, t]) => [
        results.latency.find((l) => l.path === id)?.label ?? id,
        String(t.calls),
        t.counterPresent ? String(t.perCallCounter) : "not exposed",
        String(t.perCallRedis),
        JSON.stringify(t.commandsPerCall),
        String(t.errors),
      ]),
    ),
  );
  out.push(
    `\nRound trips: ${results.roundTrips.counter} in the replica's /metrics. Commands: Redis's INFO stats (the commands a Lua script runs count too, so a script is one round trip and several commands), less the background of an idle window as long as the calls.\n`,
  );
}
if (results.failover) {
  out.push("\n## Failover (a replica killed under load, through nginx)\n");
  if (results.failover.skipped) out.push(`skipped: ${results.failover.skipped}\n`);
  else
    out.push(
      table(
        [
          "replicas",
          "clients",
          "first success after kill",
          "longest gap",
          "calls after kill",
          "failed",
          "why",
        ],
        [
          [
            String(results.failover.replicas),
            String(results.failover.clients),
            fmtMs(results.failover.firstSuccessAfterKillMs),
            fmtMs(results.failover.longestGapMs),
            String(results.failover.callsAfterKill),
            String(results.failover.failedAfterKill),
            JSON.stringify(results.failover.reasons).slice(0, 200),
          ],
        ],
      ),
    );
}
if (results.scale) {
  out.push(`\n## Throughput by replica count (${P.concurrency} in flight, ${P.seconds} s)\n`);
  out.push(
    table(
      ["setup", "calls/s", "p50", "p99", "errors"],
      results.scale.map((r) =>
        r.skipped
          ? [r.label, "—", "—", "—", `skipped: ${r.skipped}`]
          : [r.label, String(r.callsPerSecond), fmtMs(r.p50), fmtMs(r.p99), String(r.errors)],
      ),
    ),
  );
}
process.stdout.write(`${out.join("\n")}\n`);
mkdirSync(path.dirname(flags.out), { recursive: true });
writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${path.relative(process.cwd(), flags.out)}`);
