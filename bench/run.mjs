#!/usr/bin/env node
/**
 * autonomous-mcp benchmark harness (`npm run bench` = build + this file). Results are measurements of
 * one run on one machine, never test assertions. Method and latest results: docs/PERFORMANCE.md.
 *
 *   node bench/run.mjs [--quick] [--only=latency,throughput,coldstart,toolslist,search,rss,modern]
 *                      [--calls=N] [--no-peers] [--no-floors] [--baseline-ref=REF | --no-baseline]
 *                      [--no-governor] [--cpu-prof[=DIR]] [--out=FILE]
 *
 *   --quick        smoke run: fewer calls, shorter windows, fewer cold starts (numbers are noisy)
 *   --only=...     sections to run (default: all). `rss` is read during the throughput run (a short
 *                  32-in-flight load is run for it when `throughput` is not selected).
 *   --calls=N      measured calls per path and tool in the latency section (default 1000, quick 200)
 *   --modern-calls=N  measured calls per path in the `modern` section (default 500, quick 100; warm-up as many)
 *   --warmup=N     unmeasured calls per path and tool before them (default 3000, quick 50)
 *   --no-peers     skip mcp-hub and mcp-proxy
 *   --no-floors    skip the reference stdio proxies in bench/floors: two floors (bytes only; parse + rename,
 *                  no pipeline: the "raw forwarder") and the plain SDK Server + Client proxies (v1 and v2)
 *   --baseline-ref=REF  also measure the build of git REF (default pre-v2: the last build before the v2
 *                  migration), built on demand into bench/.cache/ by bench/baseline.mjs, over stdio and HTTP
 *                  with the same five downstreams; --no-baseline skips it
 *   --no-governor  skip the two extra stdio aggregators whose peak RSS is reported beside the default's:
 *                  one with the run-time heap governor switched on (AUTONOMOUS_MCP_HEAP=semi=2,growing=50),
 *                  one started as `node --max-semi-space-size=2 --heap-growing-percent=50 dist/cli.js`
 *   --cpu-prof     run both aggregators (stdio, HTTP) of the latency/throughput section under
 *                  `node --cpu-prof --cpu-prof-dir=DIR` (default DIR /tmp/amcp-prof); summarise a
 *                  profile with `node bench/profile-summary.mjs FILE --exclude-idle --from=callTool --until=stop,shutdown,drain`
 *   --out=FILE     JSON results (default bench/results/latest.json)
 *   --wait-quiet[=S]  first wait (up to S seconds, default 600) until the 1-minute load average is
 *                  below half the CPU count, so other work on the machine disturbs the run less
 *
 * Markdown tables go to stdout, progress to stderr.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { baselineCli } from "./baseline.mjs";
import {
  BENCH_DIR,
  CLI,
  faultEntry,
  machineInfo,
  memoryOf,
  resolveBin,
  sdkDir,
  serverEntry,
  SERVER_PACKAGES,
  sleep,
  tempDir,
  tempRoot,
} from "./lib/procs.mjs";
import { fmtInt, fmtMs, fmtPct, fmtSigned, median, round, summarize, table } from "./lib/stats.mjs";

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    calls: { type: "string" },
    "modern-calls": { type: "string" },
    warmup: { type: "string" },
    "no-peers": { type: "boolean", default: false },
    "no-floors": { type: "boolean", default: false },
    "baseline-ref": { type: "string", default: "pre-v2" },
    "no-baseline": { type: "boolean", default: false },
    "no-governor": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    out: { type: "string" },
    "wait-quiet": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  // allow a bare --cpu-prof
  args: process.argv
    .slice(2)
    .map((a) =>
      a === "--cpu-prof" ? "--cpu-prof=/tmp/amcp-prof" : a === "--wait-quiet" ? "--wait-quiet=600" : a,
    ),
});
if (flags.help) {
  const src = readFileSync(new URL(import.meta.url), "utf8");
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(src)[1].replace(/^ \* ?/gm, "")}\n`);
  process.exit(0);
}

const SECTIONS = ["latency", "throughput", "coldstart", "toolslist", "search", "rss", "modern"];
const only = new Set(
  flags.only
    ? flags.only
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : SECTIONS,
);
for (const s of only) {
  if (!SECTIONS.includes(s)) {
    process.stderr.write(`bench: unknown section "${s}" (known: ${SECTIONS.join(", ")})\n`);
    process.exit(2);
  }
}
const quick = flags.quick;
const P = {
  latencyCalls: Number(flags.calls ?? (quick ? 200 : 1000)),
  // 3,000: every process on the path (client, server, proxy) reaches its optimised steady state first.
  // With 300 the measured calls overlapped the JIT's work: the aggregator's CPU per call was ~230 µs
  // over its first 3,000 calls and ~100 µs after, and every path's p50 and p99 were higher (PERFORMANCE.md).
  latencyWarmup: Number(flags.warmup ?? (quick ? 50 : 3000)),
  latencyBatch: quick ? 25 : 50,
  throughputLevels: [1, 8, 32, 128],
  throughputWindowMs: quick ? 300 : 1000,
  throughputRounds: quick ? 1 : 3,
  throughputWarmupMs: quick ? 100 : 300,
  coldRounds: quick ? 2 : 5,
  listCalls: quick ? 20 : 100,
  listWarmup: quick ? 3 : 10,
  searchCalls: quick ? 20 : 200,
  modernCalls: Number(flags["modern-calls"] ?? (quick ? 100 : 500)),
  modernCountCalls: quick ? 10 : 50,
};
const peersWanted = !flags["no-peers"];
const floorsWanted = !flags["no-floors"];
const baselineRef = flags["no-baseline"] ? undefined : flags["baseline-ref"];
const governorWanted = !flags["no-governor"];
/** How the governor path switches the heap governor on: understood by the builds before and after it became opt-in. */
const GOVERNOR_ENV = { AUTONOMOUS_MCP_HEAP: "semi=2,growing=50" };
/** The same bounds as V8 flags on Node's command line: read before the heap is set up (no governor). */
const HEAP_START_FLAGS = ["--max-semi-space-size=2", "--heap-growing-percent=50"];
const cpuProfDir = flags["cpu-prof"] ? path.resolve(flags["cpu-prof"]) : undefined;
const outFile = path.resolve(flags.out ?? path.join(BENCH_DIR, "results", "latest.json"));

const t0run = performance.now();
const log = (msg) =>
  process.stderr.write(`[bench ${((performance.now() - t0run) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);

if (!existsSync(CLI)) {
  process.stderr.write(`bench: ${CLI} is missing; run \`npm run build\` first (npm run bench does)\n`);
  process.exit(2);
}

// bench/package.json: the peers and the benchmark client's SDK 1.x (bench/lib/procs.mjs). Installed before
// the client is loaded; without them the client falls back to the root's SDK 1.x when there is one.
const benchDeps = ensureBenchDeps();
const {
  connectAggregatorHttp,
  connectAggregatorStdio,
  connectMcpHub,
  connectMcpProxy,
  connectStdio,
  listAllTools,
  writeAggregatorConfig,
} = await import("./lib/endpoints.mjs");

// Everything we opened, so an interrupt still stops every process this harness started.
const open = new Set();
async function closeAll() {
  await Promise.all([...open].map((e) => e.close().catch(() => undefined)));
  open.clear();
}
process.once("SIGINT", () => {
  log("interrupted: stopping the processes started by the benchmark");
  void closeAll().finally(() => process.exit(130));
});
const track = (endpoint) => (open.add(endpoint), endpoint);

/** An OTLP/HTTP receiver on loopback that counts the spans it is sent (JSON) and keeps nothing else. */
async function otlpSink() {
  const { createServer } = await import("node:http");
  const sink = { url: "", spans: 0, exports: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      sink.exports++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) sink.spans += (ss.spans ?? []).length;
      } catch {
        // not JSON: counted as an export only
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  sink.url = `http://127.0.0.1:${server.address().port}`;
  results.tracing = sink;
  return sink;
}
const release = async (endpoint) => {
  open.delete(endpoint);
  await endpoint.close();
};

const results = {
  startedAt: new Date().toISOString(),
  machine: machineInfo(),
  options: {
    quick,
    only: [...only],
    ...P,
    peers: peersWanted,
    floors: floorsWanted,
    baselineRef: baselineRef ?? null,
    governor: governorWanted,
    cpuProf: cpuProfDir ?? null,
  },
  versions: versions(),
  notes: benchDeps.ok ? [] : [`bench dependencies: ${benchDeps.why}`],
};
const md = [];

function versions() {
  const out = {
    node: process.version,
    "autonomous-mcp": JSON.parse(readFileSync(path.join(BENCH_DIR, "..", "package.json"), "utf8")).version,
  };
  // Which source the measured dist/ came from (read-only git queries).
  const git = (...args) => spawnSync("git", args, { cwd: path.join(BENCH_DIR, ".."), encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status === 0) {
    const dirty = git("status", "--porcelain", "--", "src").stdout.trim() !== "";
    out.git = `${head.stdout.trim()}${dirty ? " + uncommitted changes in src/" : ""}`;
  }
  out["benchmark client SDK"] =
    `${JSON.parse(readFileSync(path.join(sdkDir(), "package.json"), "utf8")).version} (${path.relative(BENCH_DIR, sdkDir())})`;
  for (const [name, pkg] of Object.entries(SERVER_PACKAGES)) {
    try {
      out[pkg] = resolveBin(pkg).version;
    } catch {
      out[pkg] = "not installed";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Measurement primitives

const ARGS = {
  echo: { message: "hello from amcp-bench" },
  read_graph: {},
};
const WANTED = {
  echo: ["everything_echo", "echo"],
  read_graph: ["memory_read_graph", "read_graph"],
};

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** One call; returns its duration in ms, or undefined when it failed (counted in `errors`). */
async function timedCall(endpoint, tool, counters) {
  const start = performance.now();
  try {
    const result = await endpoint.call(tool, ARGS[tool]);
    const dt = performance.now() - start;
    if (result?.isError) {
      counters.errors++;
      counters.lastError = JSON.stringify(result.content).slice(0, 300);
      return undefined;
    }
    return dt;
  } catch (error) {
    counters.errors++;
    counters.lastError = String(error?.message ?? error).slice(0, 300);
    return undefined;
  }
}

/**
 * Sequential latency, interleaved: every endpoint gets batches of `batch` calls in turn (the order
 * rotates each round), so machine noise lands on all paths alike.
 */
async function measureLatency(
  tool,
  endpoints,
  { calls = P.latencyCalls, warmup = P.latencyWarmup, batch = P.latencyBatch } = {},
) {
  const per = new Map(endpoints.map((e) => [e, { samples: [], errors: 0, lastError: undefined }]));
  const warm = Math.ceil(warmup / batch);
  const rounds = Math.ceil(calls / batch);
  for (let r = 0; r < warm + rounds; r++) {
    for (const e of rotate(endpoints, r)) {
      const c = per.get(e);
      for (let i = 0; i < batch; i++) {
        const dt = await timedCall(e, tool, c);
        if (r >= warm && dt !== undefined) c.samples.push(dt);
      }
    }
  }
  return per;
}

/**
 * Closed loop: `concurrency` workers call back-to-back for `windowMs`; completed calls per second. Each
 * call's duration goes to `counters.samples` when there is one (latency under load).
 */
async function closedLoop(endpoint, tool, concurrency, windowMs, counters) {
  let done = 0;
  const start = performance.now();
  const end = start + windowMs;
  const worker = async () => {
    while (performance.now() < end) {
      const dt = await timedCall(endpoint, tool, counters);
      if (dt !== undefined) {
        done++;
        counters.samples?.push(dt);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, elapsedMs: performance.now() - start };
}

async function measureThroughput(tool, endpoints, levels, onWindow) {
  const out = new Map(endpoints.map((e) => [e, {}]));
  for (const level of levels) {
    for (const e of endpoints) await closedLoop(e, tool, level, P.throughputWarmupMs, { errors: 0 });
    const acc = new Map(
      endpoints.map((e) => [e, { done: 0, elapsedMs: 0, errors: 0, lastError: undefined, samples: [] }]),
    );
    for (let r = 0; r < P.throughputRounds; r++) {
      for (const e of rotate(endpoints, r + level)) {
        const a = acc.get(e);
        const w = await closedLoop(e, tool, level, P.throughputWindowMs, a);
        a.done += w.done;
        a.elapsedMs += w.elapsedMs;
        onWindow?.();
      }
    }
    for (const e of endpoints) {
      const a = acc.get(e);
      const lat = summarize(a.samples);
      out.get(e)[level] = {
        callsPerSec: (a.done / a.elapsedMs) * 1000,
        p50: lat.p50,
        p99: lat.p99,
        calls: a.done,
        errors: a.errors,
        lastError: a.lastError,
      };
    }
    log(
      `  ${tool} @ ${level} in flight: ${endpoints.map((e) => `${e.id} ${Math.round(out.get(e)[level].callsPerSec)}/s`).join(", ")}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Set-ups

/** A memory file with a small, realistic graph (20 entities, 3 observations each, 10 relations). */
function seedMemory(home) {
  mkdirSync(home, { recursive: true });
  const lines = [];
  for (let i = 0; i < 20; i++) {
    lines.push(
      JSON.stringify({
        type: "entity",
        name: `entity_${i}`,
        entityType: i % 2 ? "person" : "project",
        observations: [`observation ${i}.a`, `observation ${i}.b`, `observation ${i}.c`],
      }),
    );
  }
  for (let i = 0; i < 10; i++)
    lines.push(
      JSON.stringify({
        type: "relation",
        from: `entity_${i}`,
        to: `entity_${i + 10}`,
        relationType: "works_on",
      }),
    );
  writeFileSync(path.join(home, "memory.jsonl"), lines.join("\n"));
}

/** The five downstreams the aggregator fronts in the latency / throughput / RSS runs. */
async function fiveServers(label) {
  const servers = {};
  for (const name of ["everything", "memory", "github", "trello", "postman"]) {
    const home = await tempDir(`${label}-${name}`);
    if (name === "memory") seedMemory(home);
    servers[name] = serverEntry(name, home);
  }
  return servers;
}

function ensureBenchDeps() {
  const deps = JSON.parse(readFileSync(path.join(BENCH_DIR, "package.json"), "utf8")).dependencies;
  const need = Object.entries(deps)
    .filter(([p, v]) => {
      try {
        return (
          JSON.parse(readFileSync(path.join(BENCH_DIR, "node_modules", p, "package.json"), "utf8"))
            .version !== v
        );
      } catch {
        return true;
      }
    })
    .map(([p]) => p);
  if (need.length === 0) return { ok: true };
  log(
    `installing the benchmark's own dependencies (${need.join(", ")}) into bench/node_modules: npm install --prefix bench`,
  );
  const r = spawnSync(
    "npm",
    ["install", "--prefix", BENCH_DIR, "--no-audit", "--no-fund", "--loglevel=error"],
    {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, npm_config_yes: "true" },
    },
  );
  if (r.status !== 0)
    return {
      ok: false,
      why: `npm install --prefix bench failed (${r.error?.message ?? `exit ${r.status}`})`,
    };
  return { ok: true };
}

function peerBin(name) {
  const dir = path.join(BENCH_DIR, "node_modules", name);
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const rel = typeof pkg.bin === "string" ? pkg.bin : pkg.bin[name];
  return { bin: path.join(dir, rel), version: pkg.version };
}

// ---------------------------------------------------------------------------------------------
// Section: latency + throughput (+ RSS), with peers

async function latencyAndThroughput() {
  const doLatency = only.has("latency");
  const doThroughput = only.has("throughput");
  const doRss = only.has("rss");
  log(
    "latency/throughput: starting direct servers, the aggregator (stdio + HTTP, five downstreams each) and peers",
  );

  const directEvHome = await tempDir("direct-everything");
  const directMemHome = await tempDir("direct-memory");
  seedMemory(directMemHome);
  const direct = {
    echo: track(
      await connectStdio({
        id: "direct",
        label: "direct (stdio)",
        kind: "direct",
        ...serverEntry("everything", directEvHome),
      }),
    ),
    read_graph: track(
      await connectStdio({
        id: "direct",
        label: "direct (stdio)",
        kind: "direct",
        ...serverEntry("memory", directMemHome),
      }),
    ),
  };
  await direct.echo.discover(WANTED);
  await direct.read_graph.discover(WANTED);

  const stdioHome = await tempDir("agg-stdio");
  const stdioConfig = writeAggregatorConfig(
    path.join(stdioHome, "bench.config.json"),
    await fiveServers("agg-stdio"),
  );
  const nodeFlags = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const aggStdio = track(
    await connectAggregatorStdio({ configFile: stdioConfig, home: stdioHome, nodeFlags }),
  );
  await aggStdio.discover(WANTED);

  // The same aggregator with OpenTelemetry tracing on, sampled at 100 %, exporting to an OTLP/HTTP sink in
  // this process (docs/observability.md#cost): the cost of tracing on against aggStdio's off.
  const sink = await otlpSink();
  const tracedHome = await tempDir("agg-stdio-traced");
  const aggTraced = track(
    await connectAggregatorStdio({
      id: "agg-stdio-traced",
      label: "autonomous-mcp (stdio, traced 100 %)",
      configFile: writeAggregatorConfig(
        path.join(tracedHome, "bench.config.json"),
        await fiveServers("agg-stdio-traced"),
      ),
      home: tracedHome,
      nodeFlags,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: "always_on" },
    }),
  );
  await aggTraced.discover(WANTED);

  const httpHome = await tempDir("agg-http");
  const httpConfig = writeAggregatorConfig(
    path.join(httpHome, "bench.config.json"),
    await fiveServers("agg-http"),
  );
  const aggHttp = track(await connectAggregatorHttp({ configFile: httpConfig, home: httpHome, nodeFlags }));
  await aggHttp.discover(WANTED);
  results.aggregatorTools = { stdio: aggStdio.toolCount, http: aggHttp.toolCount };

  // Ours again with the heap governor switched on (it is off by default: docs/operations.md#memory), for
  // its peak RSS beside the default's under the same calls.
  // And started with the same bounds as V8 flags on Node's command line (the safe way, no governor).
  const extraAggs = [];
  if (governorWanted) {
    for (const [id, label, governor, opts] of [
      ["agg-stdio-gov", "autonomous-mcp (stdio), heap governor on", "on", { env: GOVERNOR_ENV }],
      [
        "agg-stdio-flags",
        `autonomous-mcp (stdio), node ${HEAP_START_FLAGS.join(" ")}`,
        "off (start-up flags)",
        { nodeFlags: HEAP_START_FLAGS },
      ],
    ]) {
      const home = await tempDir(id);
      const config = writeAggregatorConfig(path.join(home, "bench.config.json"), await fiveServers(id));
      const ep = track(await connectAggregatorStdio({ id, label, configFile: config, home, ...opts }));
      await ep.discover(WANTED);
      ep.governor = governor;
      extraAggs.push(ep);
    }
  }
  // An earlier build (default: the last one before the v2 migration), same downstreams, both fronts.
  const baseline = [];
  if (baselineRef) {
    try {
      const built = baselineCli(baselineRef, log);
      const stamp = JSON.parse(readFileSync(path.join(built.dir, "baseline.json"), "utf8"));
      results.baseline = {
        ref: baselineRef,
        commit: built.commit,
        builtAt: stamp.builtAt,
        nodeModules: stamp.nodeModules,
      };
      const short = `${baselineRef}${baselineRef.startsWith(built.commit.slice(0, 7)) ? "" : ` (${built.commit.slice(0, 7)})`}`;
      for (const front of ["stdio", "http"]) {
        const home = await tempDir(`base-${front}`);
        const config = writeAggregatorConfig(
          path.join(home, "bench.config.json"),
          await fiveServers(`base-${front}`),
        );
        const connect = front === "stdio" ? connectAggregatorStdio : connectAggregatorHttp;
        const ep = track(
          await connect({
            id: `base-${front}`,
            label: `build of ${short} (${front === "stdio" ? "stdio" : "HTTP"})`,
            configFile: config,
            home,
            cli: built.cli,
          }),
        );
        await ep.discover(WANTED);
        if (!ep.names.echo) throw new Error(`the ${baselineRef} build lists no echo tool:\n${ep.tail()}`);
        ep.governor = "as built";
        baseline.push(ep);
      }
      log(`baseline ${baselineRef} (${built.commit.slice(0, 12)}) ready: ${built.cli}`);
    } catch (error) {
      const why = String(error?.message ?? error)
        .split("\n")
        .slice(0, 8)
        .join(" | ");
      results.baseline = { ref: baselineRef, available: false, why };
      results.notes.push(`baseline ${baselineRef} not measured: ${why}`);
      log(`baseline ${baselineRef}: not measured: ${why}`);
    }
  }
  const [baseStdio, baseHttp] = baseline;
  log(
    `aggregator lists ${aggStdio.toolCount} tools on stdio, ${aggHttp.toolCount} on HTTP; echo = ${aggStdio.names.echo}, read_graph = ${aggStdio.names.read_graph}`,
  );
  for (const e of [aggStdio, aggHttp]) {
    for (const t of ["echo", "read_graph"])
      if (!e.names[t]) throw new Error(`${e.label} does not list ${t}:\n${e.tail()}`);
  }

  const peers = [];
  results.peers = {};
  if (peersWanted) {
    if (!benchDeps.ok) {
      results.peers.all = { available: false, why: benchDeps.why };
      log(`peers skipped: ${benchDeps.why}`);
    } else {
      for (const [name, connect] of [
        ["mcp-hub", connectMcpHub],
        ["mcp-proxy", connectMcpProxy],
      ]) {
        try {
          const { bin, version } = peerBin(name);
          const home = await tempDir(name);
          const ep = track(
            await connect({
              bin,
              home,
              entry: serverEntry("everything", await tempDir(`${name}-everything`)),
            }),
          );
          await ep.discover(WANTED);
          if (!ep.names.echo)
            throw new Error(
              `${name} lists no echo tool (tools: ${ep.toolList.map((t) => t.name).join(", ")})`,
            );
          await ep.call("echo", ARGS.echo);
          peers.push(ep);
          results.peers[name] = { available: true, version, front: ep.front, echoName: ep.names.echo };
          log(`${name} ${version} ready (${ep.front}), echo = ${ep.names.echo}`);
        } catch (error) {
          const why = String(error?.message ?? error)
            .split("\n")
            .slice(0, 6)
            .join(" | ");
          results.peers[name] = { available: false, why };
          log(`${name}: cannot be run here: ${why}`);
        }
      }
    }
  }

  // The floors (what any stdio proxy adds on this machine) and the plain SDK proxy that issue #7 quotes as a
  // reference design (bench/floors), each in front of its own server-everything.
  const floors = [];
  if (floorsWanted) {
    for (const [id, file, label] of [
      ["floor-bytes", "pipe.mjs", "floor: byte forwarder (stdio)"],
      ["floor-parse", "parse.mjs", "floor: parsing forwarder, no pipeline (stdio)"],
      ["ref-sdk-proxy", "sdk-proxy.mjs", "reference: plain v1 SDK Server + Client proxy (stdio)"],
      ["ref-sdk2-proxy", "sdk2-proxy.mjs", "reference: plain v2 SDK Server + Client proxy (stdio)"],
    ]) {
      try {
        const home = await tempDir(id);
        const config = writeAggregatorConfig(path.join(home, "floor.config.json"), {
          everything: serverEntry("everything", await tempDir(`${id}-everything`)),
        });
        const ep = track(
          await connectAggregatorStdio({
            id,
            label,
            configFile: config,
            home,
            cli: path.join(BENCH_DIR, "floors", file),
          }),
        );
        await ep.discover(WANTED);
        if (!ep.names.echo) throw new Error(`${label} lists no echo tool:\n${ep.tail()}`);
        floors.push(ep);
      } catch (error) {
        const why = String(error?.message ?? error)
          .split("\n")
          .slice(0, 6)
          .join(" | ");
        results.notes.push(`${label} not measured: ${why}`);
        log(`${label}: not measured: ${why}`);
      }
    }
    log(`floors and reference ready: ${floors.map((f) => f.label).join("; ")}`);
  }

  const paths = {
    echo: [
      direct.echo,
      aggStdio,
      aggTraced,
      ...extraAggs,
      ...(baseStdio ? [baseStdio] : []),
      aggHttp,
      ...(baseHttp ? [baseHttp] : []),
      ...floors,
      ...peers,
    ],
    read_graph: [direct.read_graph, aggStdio, ...extraAggs, ...baseline, aggHttp],
  };
  // The fronts whose memory is watched: every aggregator (ours, ours with the governor, the baseline) and the peers.
  const watched = [
    aggStdio,
    ...extraAggs,
    ...(baseStdio ? [baseStdio] : []),
    aggHttp,
    ...(baseHttp ? [baseHttp] : []),
    ...peers,
  ];
  const rssPeak = new Map();
  // VmRSS of each front process at each stage: a steady climb with the call count points at a leak.
  results.rssTimeline = [];
  const snapshot = (stage) => {
    const row = { stage };
    for (const e of watched) {
      const m = memoryOf(e.pid);
      row[e.id] = m?.rssKb ? round(m.rssKb / 1024, 1) : null;
    }
    results.rssTimeline.push(row);
    log(
      `  VmRSS after ${stage}: ${Object.entries(row)
        .filter(([k]) => k !== "stage")
        .map(([k, v]) => `${k} ${v} MB`)
        .join(", ")}`,
    );
  };
  snapshot("start-up");
  const sampleRss = () => {
    for (const e of watched) {
      const m = memoryOf(e.pid);
      if (m?.rssKb) rssPeak.set(e, Math.max(rssPeak.get(e) ?? 0, m.rssKb));
    }
  };

  if (doLatency) {
    results.latency = {};
    for (const tool of ["echo", "read_graph"]) {
      log(
        `latency: ${tool}, ${P.latencyCalls} calls per path after ${P.latencyWarmup} warm-up, batches of ${P.latencyBatch}, interleaved`,
      );
      const per = await measureLatency(tool, paths[tool]);
      const base = summarize(per.get(paths[tool][0]).samples);
      results.latency[tool] = paths[tool].map((e) => {
        const c = per.get(e);
        const s = summarize(c.samples);
        return {
          path: e.id,
          label: e.label,
          ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v, 4)])),
          addedP50: round(s.p50 - base.p50, 4),
          addedP99: round(s.p99 - base.p99, 4),
          errors: c.errors,
          lastError: c.lastError,
        };
      });
      for (const r of results.latency[tool])
        log(
          `  ${r.path}: p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms, added p50 ${fmtSigned(r.addedP50)} ms${r.errors ? `, ${r.errors} errors` : ""}`,
        );
      snapshot(`latency ${tool}`);
    }
  }

  if (doThroughput || doRss) {
    results.throughput = results.throughput ?? {};
    const levels = doThroughput ? P.throughputLevels : [32];
    const tools = doThroughput ? ["echo", "read_graph"] : ["echo"];
    for (const tool of tools) {
      log(
        `throughput: ${tool} at ${levels.join(", ")} in flight; ${P.throughputRounds} × ${P.throughputWindowMs} ms windows per path, interleaved`,
      );
      const out = await measureThroughput(tool, paths[tool], levels, sampleRss);
      snapshot(`throughput ${tool}`);
      const base = out.get(paths[tool][0]);
      results.throughput[tool] = paths[tool].map((e) => ({
        path: e.id,
        label: e.label,
        levels: Object.fromEntries(
          levels.map((l) => {
            const x = out.get(e)[l];
            return [
              l,
              {
                callsPerSec: round(x.callsPerSec, 1),
                ratio: round(x.callsPerSec / base[l].callsPerSec, 4),
                p50: round(x.p50, 4),
                addedP50: round(x.p50 - base[l].p50, 4),
                p99: round(x.p99, 4),
                calls: x.calls,
                errors: x.errors,
                lastError: x.lastError,
              },
            ];
          }),
        ),
      }));
    }
    if (!doThroughput) delete results.throughput;
  }

  if (doThroughput || doRss) {
    results.rss = watched.map((e) => {
      const m = memoryOf(e.pid);
      return {
        path: e.id,
        label: e.label,
        downstreams: e.kind === "aggregator" ? 5 : 1,
        heapGovernor: e.kind === "aggregator" ? (e.governor ?? "off") : undefined,
        vmHwmMB: m?.hwmKb ? round(m.hwmKb / 1024, 1) : null,
        vmRssSampledPeakMB: rssPeak.get(e) ? round(rssPeak.get(e) / 1024, 1) : null,
        vmRssNowMB: m?.rssKb ? round(m.rssKb / 1024, 1) : null,
      };
    });
    for (const r of results.rss)
      log(`  RSS ${r.path}: VmHWM ${r.vmHwmMB} MB (sampled VmRSS peak ${r.vmRssSampledPeakMB} MB)`);
  }

  log("latency/throughput: stopping");
  const pids = { stdio: aggStdio.pid, http: aggHttp.pid };
  await Promise.all([...open].map((e) => release(e)));
  if (cpuProfDir) {
    await sleep(500);
    const files = existsSync(cpuProfDir)
      ? readdirSync(cpuProfDir).filter((f) => f.endsWith(".cpuprofile"))
      : [];
    results.cpuProfile = { dir: cpuProfDir };
    for (const [front, pid] of Object.entries(pids)) {
      results.cpuProfile[front] = files
        .filter((f) => f.includes(`.${pid}.`))
        .map((f) => path.join(cpuProfDir, f));
      log(
        `cpu profile of the ${front} aggregator (pid ${pid}): ${results.cpuProfile[front].join(", ") || "none written"}; summarise with node bench/profile-summary.mjs FILE --exclude-idle --from=callTool --until=stop,shutdown,drain`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The `modern` section: 2026-07-28 over HTTP, and round trips per input_required exchange (issue #16)

/**
 * One interleaved run (measureLatency) over every path below: the v2 fixture server directly over HTTP
 * and through the aggregator's HTTP front (the fixture over stdio behind it, as in the latency section),
 * by a v2 client pinned to 2026-07-28 and by a 2025-era client. Then, per path, a few calls more whose
 * requests are counted: the client's tools/call requests, the elicitations it answered and, behind the
 * aggregator, the tools/call requests the fixture received (its request log, V2_START_LOG).
 */
async function modernSection() {
  const m = await import("./lib/modern.mjs");
  const home = await tempDir("modern");
  const reqLog = path.join(home, "requests.log");
  const directModern = track(await m.startFixtureHttp("modern"));
  const directLegacy = track(await m.startFixtureHttp("legacy"));
  const agg = track(
    await m.startAggregatorHttp({
      configFile: writeAggregatorConfig(path.join(home, "modern.config.json"), {
        modern: m.fixtureEntry("modern", reqLog),
        legacy: m.fixtureEntry("legacy", reqLog),
      }),
      home,
    }),
  );
  const viaAgg = {
    echo: "modern_echo_modern",
    confirm: "modern_confirm_modern",
    confirmLegacy: "legacy_confirm_legacy",
  };
  const clients = {
    m26: await m.modernHttpPath({
      id: "m26",
      label: "2026-07-28 client → fixture",
      url: directModern.url,
      names: { echo: "echo_modern", confirm: "confirm_modern" },
    }),
    a26: await m.modernHttpPath({ id: "a26", label: "2026-07-28 client → us", url: agg.url, names: viaAgg }),
    a25: await m.legacyHttpPath({ id: "a25", label: "2025 client → us", url: agg.url, names: viaAgg }),
    l25: await m.legacyHttpPath({
      id: "l25",
      label: "2025 client → legacy fixture",
      url: directLegacy.url,
      names: { confirmLegacy: "confirm_legacy" },
    }),
  };
  for (const c of Object.values(clients)) track(c);
  const confirmArgs = { question: "ship?" };
  // id, label, client, logical tool, the fixture era behind us (undefined: direct), baseline row
  const rows = [
    ["echo-direct", "echo: 2026-07-28 client → modern server (HTTP), direct", "m26", "echo", undefined],
    ["echo-agg-2026", "echo: 2026-07-28 client → us (HTTP) → modern server", "a26", "echo", "modern"],
    ["echo-agg-2025", "echo: 2025 client → us (HTTP) → modern server", "a25", "echo", "modern"],
    ["ir-direct", "input_required: 2026-07-28 client → modern server, direct", "m26", "confirm", undefined],
    ["ir-agg-2025", "input_required: 2025 client → us → modern server (shim)", "a25", "confirm", "modern"],
    ["ir-agg-2026", "input_required: 2026-07-28 client → us → modern server", "a26", "confirm", "modern"],
    [
      "held-direct",
      "elicitation: 2025 client → legacy server (HTTP), direct",
      "l25",
      "confirmLegacy",
      undefined,
    ],
    [
      "held-agg-2026",
      "elicitation: 2026-07-28 client → us → legacy server (held)",
      "a26",
      "confirmLegacy",
      "legacy",
    ],
  ].map(([id, label, client, tool, behind]) => ({
    id,
    label,
    client: clients[client],
    tool,
    behind,
    call: () => clients[client].call(tool, tool === "echo" ? ARGS.echo : confirmArgs),
  }));
  const baseOf = (id) =>
    id.startsWith("echo-") ? "echo-direct" : id.startsWith("ir-") ? "ir-direct" : "held-direct";

  // Every path answers correctly before anything is timed (a wrong name or a refused call stops here).
  for (const r of rows) {
    const out = await r.call();
    if (out?.isError || out?.resultType === "input_required")
      throw new Error(`modern: ${r.label}: ${JSON.stringify(out).slice(0, 300)}`);
  }
  const batch = Math.min(P.latencyBatch, P.modernCalls);
  log(
    `modern: ${P.modernCalls} calls per path after ${P.modernCalls} warm-up, batches of ${batch}, ${rows.length} paths interleaved`,
  );
  const per = await measureLatency("modern", rows, { calls: P.modernCalls, warmup: P.modernCalls, batch });

  // Round trips, counted over a few sequential calls per path (nothing else runs then).
  const counts = new Map();
  for (const r of rows) {
    const c = r.client.counters;
    const before = {
      calls: c.clientCalls,
      asked: c.elicitations,
      down: r.behind && m.toolCallsLogged(reqLog, r.behind),
    };
    for (let i = 0; i < P.modernCountCalls; i++) await r.call();
    const n = P.modernCountCalls;
    const asked = c.elicitations - before.asked;
    counts.set(r, {
      // The client's round trips: its tools/call requests, and its answers when they are requests of their own.
      roundTripsPerCall: round(
        (c.clientCalls - before.calls + (r.client.answersOverWire ? asked : 0)) / n,
        3,
      ),
      clientCallsPerCall: round((c.clientCalls - before.calls) / n, 3),
      elicitationsPerCall: round(asked / n, 3),
      // Direct: the server receives exactly the client's requests.
      downstreamCallsPerCall: r.behind
        ? round((m.toolCallsLogged(reqLog, r.behind) - before.down) / n, 3)
        : round((c.clientCalls - before.calls) / n, 3),
    });
  }

  const stats = new Map(rows.map((r) => [r.id, summarize(per.get(r).samples)]));
  results.modern = rows.map((r) => {
    const s = stats.get(r.id);
    const base = stats.get(baseOf(r.id));
    const k = counts.get(r);
    const baseCounts = counts.get(rows.find((x) => x.id === baseOf(r.id)));
    return {
      path: r.id,
      label: r.label,
      n: s.n,
      p50: round(s.p50, 4),
      p95: round(s.p95, 4),
      p99: round(s.p99, 4),
      addedP50: r.id === baseOf(r.id) ? undefined : round(s.p50 - base.p50, 4),
      ...k,
      // Extra client round trips per exchange over the direct path's.
      extraRoundTrips:
        r.id === baseOf(r.id) ? undefined : round(k.roundTripsPerCall - baseCounts.roundTripsPerCall, 3),
      // ... and extra tools/call requests the server receives per exchange.
      extraServerCalls:
        r.id === baseOf(r.id)
          ? undefined
          : round(k.downstreamCallsPerCall - baseCounts.downstreamCallsPerCall, 3),
      errors: per.get(r).errors,
      lastError: per.get(r).lastError,
    };
  });
  for (const r of results.modern)
    log(
      `  ${r.path}: p50 ${fmtMs(r.p50)} ms, p95 ${fmtMs(r.p95)} ms${r.addedP50 !== undefined ? `, added p50 ${fmtSigned(r.addedP50)} ms` : ""}; per call: client round trips ${r.roundTripsPerCall}, client tools/call ${r.clientCallsPerCall}, elicitations ${r.elicitationsPerCall}, server tools/call ${r.downstreamCallsPerCall}${r.errors ? `, ${r.errors} errors` : ""}`,
    );
  for (const e of [...Object.values(clients), agg, directModern, directLegacy]) await release(e);
}

// ---------------------------------------------------------------------------------------------
// Section: cold start (aggregator with four real servers vs each server alone)

async function coldStart() {
  const names = ["memory", "github", "trello", "postman"];
  // "parallel": the four servers spawned at once by four direct SDK clients (no aggregator): what the
  // machine itself costs when four Node servers start together on its CPUs.
  const contenders = ["aggregator", "parallel", ...names];
  const samples = Object.fromEntries(contenders.map((c) => [c, []]));
  const toolCounts = {};
  const failures = [];
  log(
    `cold start: 1 warm-up round + ${P.coldRounds} measured rounds of spawn → initialize → tools/list (complete)`,
  );

  const once = async (who) => {
    const start = performance.now();
    let ep;
    try {
      if (who === "aggregator") {
        const home = await tempDir("cold-agg");
        const servers = {};
        for (const n of names) {
          const h = await tempDir(`cold-agg-${n}`);
          if (n === "memory") seedMemory(h);
          servers[n] = serverEntry(n, h);
        }
        const file = writeAggregatorConfig(path.join(home, "cold.config.json"), servers);
        const t = performance.now();
        ep = track(
          await connectAggregatorStdio({ id: "cold-agg", label: "aggregator", configFile: file, home }),
        );
        const tools = await listAllTools(ep.client);
        const ms = performance.now() - t;
        const byServer = Object.fromEntries(
          names.map((n) => [n, tools.filter((x) => x.name.startsWith(`${n}_`)).length]),
        );
        return { ms, tools: tools.length, byServer };
      }
      if (who === "parallel") {
        const entries = [];
        for (const n of names) {
          const h = await tempDir(`cold-par-${n}`);
          if (n === "memory") seedMemory(h);
          entries.push([n, serverEntry(n, h)]);
        }
        const t = performance.now();
        const eps = [];
        let count = 0;
        try {
          await Promise.all(
            entries.map(async ([n, entry]) => {
              const e = track(
                await connectStdio({ id: `cold-par-${n}`, label: n, kind: "direct", ...entry }),
              );
              eps.push(e);
              count += (await listAllTools(e.client)).length;
            }),
          );
          return { ms: performance.now() - t, tools: count };
        } finally {
          await Promise.all(eps.map((e) => release(e)));
        }
      }
      const h = await tempDir(`cold-${who}`);
      if (who === "memory") seedMemory(h);
      const entry = serverEntry(who, h);
      const t = performance.now();
      ep = track(await connectStdio({ id: `cold-${who}`, label: who, kind: "direct", ...entry }));
      const tools = await listAllTools(ep.client);
      return { ms: performance.now() - t, tools: tools.length };
    } catch (error) {
      failures.push({
        who,
        error: String(error?.message ?? error).slice(0, 500),
        afterMs: performance.now() - start,
      });
      return undefined;
    } finally {
      if (ep) await release(ep);
      await sleep(150);
    }
  };

  for (let r = 0; r <= P.coldRounds; r++) {
    for (const who of rotate(contenders, r)) {
      const res = await once(who);
      if (!res) continue;
      toolCounts[who] = who === "aggregator" ? { total: res.tools, byServer: res.byServer } : res.tools;
      if (r > 0) samples[who].push(res.ms);
    }
    if (r > 0)
      log(`  round ${r}: ${contenders.map((c) => `${c} ${fmtMs(samples[c].at(-1), 0)} ms`).join(", ")}`);
  }

  const med = Object.fromEntries(contenders.map((c) => [c, median(samples[c])]));
  const slowest = names.reduce((a, b) => (med[a] >= med[b] ? a : b));
  results.coldStart = {
    rounds: P.coldRounds,
    medianMs: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, round(v, 1)])),
    minMs: Object.fromEntries(contenders.map((c) => [c, round(Math.min(...samples[c]), 1)])),
    samplesMs: Object.fromEntries(contenders.map((c) => [c, samples[c].map((x) => round(x, 1))])),
    tools: toolCounts,
    slowestServer: slowest,
    aggregatorMs: round(med.aggregator, 1),
    slowestServerMs: round(med[slowest], 1),
    overheadMs: round(med.aggregator - med[slowest], 1),
    failures,
  };
  log(
    `  aggregator cold start = ${fmtMs(med.aggregator, 0)} ms; slowest single server (${slowest}) = ${fmtMs(med[slowest], 0)} ms; overhead = ${fmtMs(med.aggregator - med[slowest], 0)} ms`,
  );
}

// ---------------------------------------------------------------------------------------------
// Section: tools/list at 300 and 2,000 tools (+ search_tools at 2,000)

async function toolsListAndSearch() {
  const doList = only.has("toolslist");
  const doSearch = only.has("search");
  const probe = track(
    await connectStdio({
      id: "probe",
      label: "fault-server",
      kind: "direct",
      ...faultEntry(await tempDir("fault-probe"), 0),
    }),
  );
  const base = (await listAllTools(probe.client)).length;
  await release(probe);

  results.toolsList = doList ? [] : undefined;
  const totals = doList ? [300, 2000] : [2000];
  for (const total of totals) {
    const k = total <= 300 ? 4 : 8;
    const extra = Math.round(total / k) - base;
    log(
      `tools/list: ${k} fault-servers × (${base} + ${extra}) tools = ${k * (base + extra)} downstream tools`,
    );
    const home = await tempDir(`list-${total}`);
    const servers = {};
    for (let i = 1; i <= k; i++) servers[`s${i}`] = faultEntry(await tempDir(`list-${total}-s${i}`), extra);
    const agg = track(
      await connectAggregatorStdio({
        id: `agg-${total}`,
        label: `aggregator, ${total} tools`,
        configFile: writeAggregatorConfig(path.join(home, "list.config.json"), servers),
        home,
      }),
    );
    const listed = await listAllTools(agg.client);

    if (doList) {
      const ref = track(
        await connectStdio({
          id: `direct-${total}`,
          label: `one fault-server with ${total} tools`,
          kind: "direct",
          ...faultEntry(await tempDir(`list-ref-${total}`), total - base),
        }),
      );
      const refCount = (await listAllTools(ref.client)).length;
      const s = { agg: [], ref: [] };
      for (let i = 0; i < P.listWarmup; i++) {
        await listAllTools(agg.client);
        await listAllTools(ref.client);
      }
      const batch = 10;
      for (let r = 0; r * batch < P.listCalls; r++) {
        for (const [key, ep] of rotate(
          [
            ["agg", agg],
            ["ref", ref],
          ],
          r,
        )) {
          for (let i = 0; i < batch; i++) {
            const t = performance.now();
            await listAllTools(ep.client);
            s[key].push(performance.now() - t);
          }
        }
      }
      const a = summarize(s.agg);
      const d = summarize(s.ref);
      results.toolsList.push({
        downstreamTools: k * (base + extra),
        servers: k,
        listedByAggregator: listed.length,
        aggregator: { p50: round(a.p50, 3), p99: round(a.p99, 3), mean: round(a.mean, 3), n: a.n },
        directOneServer: {
          tools: refCount,
          p50: round(d.p50, 3),
          p99: round(d.p99, 3),
          mean: round(d.mean, 3),
          n: d.n,
        },
      });
      log(
        `  ${listed.length} tools listed: aggregator p50 ${fmtMs(a.p50)} ms p99 ${fmtMs(a.p99)} ms; one server with ${refCount} tools directly p50 ${fmtMs(d.p50)} ms`,
      );
      await release(ref);
    }

    if (total === 2000 && doSearch) {
      const search = listed.find((t) => /(^|[_.-])search_tools$/.test(t.name));
      if (!search) {
        results.searchTools = {
          available: false,
          note: "not available: the aggregator lists no search_tools tool",
        };
        log("  search_tools: not available (the aggregator lists no search_tools tool)");
      } else {
        const props = search.inputSchema?.properties ?? {};
        const args = {};
        const key =
          ["query", "q", "text", "search"].find((p) => p in props) ?? Object.keys(props)[0] ?? "query";
        args[key] = "echo the message back";
        const samples = [];
        let errors = 0;
        let sample;
        for (let i = 0; i < P.searchCalls + 10; i++) {
          const t = performance.now();
          try {
            const res = await agg.client.callTool({ name: search.name, arguments: args });
            const dt = performance.now() - t;
            if (res.isError) errors++;
            else if (i >= 10) samples.push(dt);
            sample ??= JSON.stringify(res.content).slice(0, 200);
          } catch (error) {
            errors++;
            sample ??= String(error?.message ?? error).slice(0, 200);
          }
        }
        const s = summarize(samples);
        results.searchTools = {
          available: true,
          tool: search.name,
          args,
          tools: listed.length,
          p50: round(s.p50, 3),
          p99: round(s.p99, 3),
          n: s.n,
          errors,
          sample,
        };
        log(
          `  search_tools over ${listed.length} tools: p50 ${fmtMs(s.p50)} ms p99 ${fmtMs(s.p99)} ms (${errors} errors)`,
        );
      }
    }
    await release(agg);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const TARGETS = {
  stdioAddedP50Ms: 0.15,
  httpAddedP50Ms: 1,
  extraRoundTrips: 1,
  stdioThroughput32Ratio: 0.85,
  coldStartOverheadMs: 150,
  rssMB: 80,
};

function evaluateTargets() {
  const rows = [];
  const verdict = (ok) => (ok === undefined ? "not measured" : ok ? "met" : "missed");
  for (const tool of ["echo", "read_graph"]) {
    const lat = results.latency?.[tool];
    const s = lat?.find((r) => r.path === "agg-stdio");
    const h = lat?.find((r) => r.path === "agg-http");
    rows.push({
      target: `added p50, stdio, ${tool}`,
      goal: `≤ ${TARGETS.stdioAddedP50Ms} ms`,
      value: s ? `${fmtSigned(s.addedP50)} ms` : "–",
      ok: s ? s.addedP50 <= TARGETS.stdioAddedP50Ms : undefined,
    });
    rows.push({
      target: `added p50, HTTP, ${tool}`,
      goal: `≤ ${TARGETS.httpAddedP50Ms} ms`,
      value: h ? `${fmtSigned(h.addedP50)} ms` : "–",
      ok: h ? h.addedP50 <= TARGETS.httpAddedP50Ms : undefined,
    });
  }
  for (const tool of ["echo", "read_graph"]) {
    const s = results.throughput?.[tool]?.find((r) => r.path === "agg-stdio")?.levels?.[32];
    rows.push({
      target: `throughput at 32 in flight, stdio, ${tool}`,
      goal: `≥ ${TARGETS.stdioThroughput32Ratio * 100} % of direct`,
      value: s ? fmtPct(s.ratio) : "–",
      ok: s ? s.ratio >= TARGETS.stdioThroughput32Ratio : undefined,
    });
  }
  const c = results.coldStart;
  rows.push({
    target: "cold start (4 real servers, stdio)",
    goal: `≤ slowest server + ${TARGETS.coldStartOverheadMs} ms`,
    value: c
      ? `${fmtMs(c.aggregatorMs, 0)} ms = ${fmtMs(c.slowestServerMs, 0)} + ${fmtMs(c.overheadMs, 0)} ms`
      : "–",
    ok: c ? c.overheadMs <= TARGETS.coldStartOverheadMs : undefined,
  });
  for (const r of results.rss?.filter((x) => x.downstreams === 5 && x.path.startsWith("agg-")) ?? []) {
    rows.push({
      target: `peak RSS (VmHWM), ${r.label.replace(/, heap governor on$/, "")}, 5 downstreams, heap governor ${r.heapGovernor}`,
      goal: `≤ ${TARGETS.rssMB} MB`,
      value: `${r.vmHwmMB} MB`,
      ok: r.vmHwmMB <= TARGETS.rssMB,
    });
  }
  const mod = results.modern?.find((r) => r.path === "echo-agg-2026");
  rows.push({
    target: "added p50, HTTP, 2026-07-28 client, echo (modern section)",
    goal: `≤ ${TARGETS.httpAddedP50Ms} ms`,
    value: mod ? `${fmtSigned(mod.addedP50)} ms` : "–",
    ok: mod ? mod.addedP50 <= TARGETS.httpAddedP50Ms : undefined,
  });
  const exchanges = results.modern?.filter((r) => /^(ir|held)-agg/.test(r.path));
  const worst = exchanges?.length
    ? Math.max(...exchanges.flatMap((r) => [r.extraRoundTrips, r.extraServerCalls]))
    : undefined;
  rows.push({
    target: "extra round trips per input_required exchange through us (client or server side)",
    goal: `≤ ${TARGETS.extraRoundTrips}`,
    value: worst === undefined ? "–" : String(worst),
    ok: worst === undefined ? undefined : worst <= TARGETS.extraRoundTrips,
  });
  for (const c of results.comparison ?? []) {
    if (!c.bar) continue;
    rows.push({
      target: c.name,
      goal: `${c.kind}${c.bar.added !== undefined ? `; added p50 ≤ ${c.bar.added}×` : ""}${c.bar.calls !== undefined ? `; calls/s ≥ ${c.bar.calls}×` : ""} at 1 and 32 in flight`,
      value: [1, 32]
        .filter((l) => c.levels[l])
        .map((l) => `${l}: ${c.levels[l].addedRatio ?? "–"}× / ${c.levels[l].callsRatio ?? "–"}×`)
        .join("; "),
      ok: c.verdict === "met",
    });
  }
  return rows.map((r) => ({ ...r, verdict: verdict(r.ok) }));
}

/** Added p50 (ms, vs direct) and calls/s of one echo path at one in-flight level; undefined if not measured. */
function echoAt(pathId, level) {
  const t = results.throughput?.echo?.find((r) => r.path === pathId)?.levels?.[level];
  const seq = level === 1 ? results.latency?.echo?.find((r) => r.path === pathId) : undefined;
  if (!t && !seq) return undefined;
  return {
    // One in flight: the sequential latency run (3,000-call warm-up) when it ran; otherwise the closed loop's.
    addedP50: seq ? seq.addedP50 : t?.addedP50,
    callsPerSec: t?.callsPerSec,
    ratioToDirect: t?.ratio,
  };
}

const COMPARISONS = [
  {
    ours: "agg-stdio",
    ref: "ref-sdk2-proxy",
    name: "ours (stdio) vs the plain v2 SDK proxy",
    bar: { added: 1, calls: 1 },
    kind: "hard bar: no worse",
  },
  {
    ours: "agg-stdio",
    ref: "base-stdio",
    name: "ours (stdio) vs the baseline build (stdio)",
    bar: { added: 1.25, calls: 0.75 },
    kind: "aim: within 25 %",
  },
  {
    ours: "agg-stdio",
    ref: "floor-parse",
    name: "ours (stdio) vs the raw forwarder (parse + rename)",
    kind: "the floor of one extra hop",
  },
  {
    ours: "agg-stdio",
    ref: "ref-sdk-proxy",
    name: "ours (stdio) vs the plain v1 SDK proxy",
    kind: "reference",
  },
  {
    ours: "agg-http",
    ref: "base-http",
    name: "ours (HTTP) vs the baseline build (HTTP)",
    bar: { added: 1.25, calls: 0.75 },
    kind: "aim: within 25 %",
  },
  {
    ours: "agg-http",
    ref: "mcp-hub",
    name: "ours (HTTP) vs mcp-hub (SSE)",
    bar: { added: 1 },
    kind: "below the peer",
  },
  {
    ours: "agg-http",
    ref: "mcp-proxy",
    name: "ours (HTTP) vs mcp-proxy (Streamable HTTP)",
    bar: { added: 1 },
    kind: "below the peer",
  },
];

/** The issue's ratios, from the echo runs: ours ÷ reference for added p50 and calls/s at 1 and 32 in flight. */
function comparisons() {
  const out = [];
  for (const c of COMPARISONS) {
    const levels = {};
    let measured = false;
    const missed = [];
    for (const level of [1, 32]) {
      const o = echoAt(c.ours, level);
      const r = echoAt(c.ref, level);
      if (!o || !r) continue;
      measured = true;
      const addedRatio = r.addedP50 > 0 && o.addedP50 !== undefined ? o.addedP50 / r.addedP50 : undefined;
      const callsRatio = r.callsPerSec && o.callsPerSec ? o.callsPerSec / r.callsPerSec : undefined;
      levels[level] = {
        oursAddedP50: o.addedP50,
        refAddedP50: r.addedP50,
        addedDiffMs: round(o.addedP50 - r.addedP50, 4),
        addedRatio: round(addedRatio, 3),
        oursCallsPerSec: o.callsPerSec,
        refCallsPerSec: r.callsPerSec,
        callsRatio: round(callsRatio, 3),
      };
      // A reference that adds nothing measurable (≤ 0) has no ratio: compare the difference instead.
      if (c.bar?.added !== undefined) {
        const ok = addedRatio !== undefined ? addedRatio <= c.bar.added : o.addedP50 <= r.addedP50;
        if (!ok) missed.push(`added p50 at ${level}`);
      }
      if (c.bar?.calls !== undefined && callsRatio !== undefined && callsRatio < c.bar.calls)
        missed.push(`calls/s at ${level}`);
    }
    if (!measured) continue;
    out.push({
      ...c,
      levels,
      verdict: !c.bar ? "—" : missed.length ? `missed (${missed.join(", ")})` : "met",
    });
  }
  return out;
}

function report() {
  const m = results.machine;
  md.push(`# autonomous-mcp benchmark — ${results.startedAt}${quick ? " (--quick: smoke run, noisy)" : ""}`);
  const l = m.load1mDuringRun;
  md.push(
    `Source: autonomous-mcp ${results.versions["autonomous-mcp"]}${results.versions.git ? ` (git ${results.versions.git})` : ""}.`,
  );
  md.push(
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, Node ${m.node}, ${m.os}. 1-min load average: ${m.loadavgAtStart[0]} at start${l ? `, ${l.min}–${l.max} (median ${l.median}) during the run` : ""}.`,
  );
  if (results.loadBySection) {
    md.push(
      `Load average by section (start → max → end): ${Object.entries(results.loadBySection)
        .map(([k, v]) => `${k} ${v.atStart} → ${v.max} → ${v.atEnd}`)
        .join("; ")}.`,
    );
  }

  if (results.latency) {
    for (const tool of ["echo", "read_graph"]) {
      const rows = results.latency[tool];
      md.push(
        `\n## Latency — ${tool === "echo" ? "server-everything `echo`" : "server-memory `read_graph`"} (${rows[0]?.n ?? 0} calls per path, sequential, interleaved)`,
      );
      md.push(
        table(
          ["path", "p50 ms", "p90 ms", "p99 ms", "mean ms", "added p50 ms", "added p99 ms", "errors"],
          rows.map((r) => [
            r.label,
            fmtMs(r.p50),
            fmtMs(r.p90),
            fmtMs(r.p99),
            fmtMs(r.mean),
            r.path === "direct" ? "—" : fmtSigned(r.addedP50),
            r.path === "direct" ? "—" : fmtSigned(r.addedP99),
            r.errors,
          ]),
        ),
      );
    }
  }
  if (results.throughput) {
    for (const tool of Object.keys(results.throughput)) {
      const rows = results.throughput[tool];
      const levels = Object.keys(rows[0].levels);
      md.push(`\n## Throughput — ${tool} (calls/s, closed loop; ratio to direct)`);
      md.push(
        table(
          ["path", ...levels.map((l) => `${l} in flight`)],
          rows.map((r) => [
            r.label,
            ...levels.map(
              (l) =>
                `${fmtInt(r.levels[l].callsPerSec)} (${fmtPct(r.levels[l].ratio)})${r.levels[l].errors ? ` ⚠ ${r.levels[l].errors} err` : ""}`,
            ),
          ]),
        ),
      );
    }
  }
  if (results.modern) {
    md.push(
      `\n## Modern (2026-07-28) over HTTP, and round trips per input_required exchange (${results.modern[0]?.n ?? 0} calls per path, sequential, interleaved; "us" = the aggregator's HTTP front, the server over stdio behind it)`,
    );
    md.push(
      table(
        [
          "path",
          "p50 ms",
          "p95 ms",
          "added p50 ms",
          "client round trips / call",
          "elicitations answered / call",
          "server tools/call / call",
          "extra round trips (client / server)",
          "errors",
        ],
        results.modern.map((r) => [
          r.label,
          fmtMs(r.p50),
          fmtMs(r.p95),
          r.addedP50 === undefined ? "—" : fmtSigned(r.addedP50),
          r.roundTripsPerCall,
          r.elicitationsPerCall,
          r.downstreamCallsPerCall,
          r.extraRoundTrips === undefined
            ? "—"
            : `${fmtSigned(r.extraRoundTrips, 2)} / ${fmtSigned(r.extraServerCalls, 2)}`,
          r.errors,
        ]),
      ),
    );
    md.push(
      "\nAdded p50 is over the direct path of the same group (echo; input_required: a 2026-07-28 client to the modern server; elicitation: a 2025 client to the legacy server). A client round trip is a tools/call it sends, or, for a 2025 client, its answer to the server's elicitation/create (a request of its own on the wire); a 2026-07-28 client answers input_required in process and calls again.",
    );
  }
  if (results.throughput?.echo) {
    const rows = results.throughput.echo.filter((r) => r.path !== "direct");
    md.push(
      "\n## Summary — server-everything `echo`, per in-flight level (added p50 = p50 − direct's p50, same run; calls/s as % of direct)",
    );
    md.push(
      table(
        [
          "path",
          "1 in flight: added p50 ms",
          "1 in flight: calls/s",
          "32 in flight: added p50 ms",
          "32 in flight: calls/s",
        ],
        rows.map((r) => {
          const [a, b] = [echoAt(r.path, 1), echoAt(r.path, 32)];
          const cps = (x) => (x?.callsPerSec ? `${fmtInt(x.callsPerSec)} (${fmtPct(x.ratioToDirect)})` : "–");
          return [r.label, fmtSigned(a?.addedP50), cps(a), fmtSigned(b?.addedP50), cps(b)];
        }),
      ),
    );
    md.push(
      "\nAt 1 in flight the added p50 is the sequential latency run's; at 32 it is the p50 of every call in the throughput windows.",
    );
    results.comparison = comparisons();
    if (results.comparison.length) {
      md.push(
        "\n## Ratios — ours ÷ reference, `echo` (added p50: lower is better; calls/s: higher is better)",
      );
      const cell = (x, key) => (x?.[key] !== undefined ? `${x[key].toFixed(2)}×` : "–");
      md.push(
        table(
          [
            "comparison",
            "added p50 at 1",
            "calls/s at 1",
            "added p50 at 32",
            "calls/s at 32",
            "bar",
            "verdict",
          ],
          results.comparison.map((c) => [
            c.name,
            c.levels[1]
              ? `${cell(c.levels[1], "addedRatio")} (${fmtSigned(c.levels[1].addedDiffMs)} ms)`
              : "–",
            cell(c.levels[1], "callsRatio"),
            c.levels[32]
              ? `${cell(c.levels[32], "addedRatio")} (${fmtSigned(c.levels[32].addedDiffMs)} ms)`
              : "–",
            cell(c.levels[32], "callsRatio"),
            c.bar
              ? `${c.kind}: ${[c.bar.added !== undefined ? `added p50 ≤ ${c.bar.added.toFixed(2)}×` : "", c.bar.calls !== undefined ? `calls/s ≥ ${c.bar.calls.toFixed(2)}×` : ""].filter(Boolean).join(", ")}`
              : c.kind,
            c.verdict,
          ]),
        ),
      );
    }
  }
  if (results.rss) {
    md.push("\n## Peak memory (VmHWM of the front process, read after the load)");
    md.push(
      table(
        ["process", "downstreams", "heap governor", "VmHWM MB", "sampled VmRSS peak MB"],
        results.rss.map((r) => [
          r.label,
          r.downstreams,
          r.heapGovernor ?? "—",
          r.vmHwmMB ?? "–",
          r.vmRssSampledPeakMB ?? "–",
        ]),
      ),
    );
  }
  if (results.rssTimeline?.length) {
    const cols = Object.keys(results.rssTimeline[0]).filter((k) => k !== "stage");
    md.push("\nVmRSS (MB) of each front process after each stage:");
    md.push(
      table(
        ["after", ...cols],
        results.rssTimeline.map((r) => [r.stage, ...cols.map((c) => r[c] ?? "–")]),
      ),
    );
  }
  if (results.peers && Object.keys(results.peers).length) {
    md.push("\n## Peers");
    md.push(
      table(
        ["peer", "status"],
        Object.entries(results.peers).map(([k, v]) => [
          k,
          v.available ? `${v.version}, ${v.front} front, tool \`${v.echoName}\`` : `not run: ${v.why}`,
        ]),
      ),
    );
  }
  if (results.coldStart) {
    const c = results.coldStart;
    md.push(`\n## Cold start to first complete tools/list (median of ${c.rounds}, after 1 warm-up round)`);
    md.push(
      table(
        ["process", "median ms", "min ms", "tools"],
        Object.keys(c.medianMs).map((k) => [
          k === "aggregator"
            ? "aggregator (memory + github + trello + postman)"
            : k === "parallel"
              ? "the four directly, started in parallel (no aggregator)"
              : `${k} alone`,
          fmtMs(c.medianMs[k], 0),
          fmtMs(c.minMs[k], 0),
          k === "aggregator" ? c.tools.aggregator?.total : c.tools[k],
        ]),
      ),
    );
    md.push(
      `\naggregator cold start = ${fmtMs(c.aggregatorMs, 0)} ms; slowest single server = ${fmtMs(c.slowestServerMs, 0)} ms (${c.slowestServer}); overhead = ${fmtMs(c.overheadMs, 0)} ms (of which starting four servers at once costs the machine ${fmtMs(c.medianMs.parallel - c.slowestServerMs, 0)} ms without any aggregator)`,
    );
    if (c.failures.length)
      md.push(`\nfailures: ${c.failures.map((f) => `${f.who}: ${f.error.split("\n")[0]}`).join("; ")}`);
  }
  if (results.toolsList?.length) {
    md.push("\n## tools/list (complete listing, all pages, via the stdio front)");
    md.push(
      table(
        [
          "downstream tools",
          "listed",
          "aggregator p50 ms",
          "aggregator p99 ms",
          "one server directly, same count: p50 ms",
          "p99 ms",
        ],
        results.toolsList.map((r) => [
          `${r.downstreamTools} (${r.servers} servers)`,
          r.listedByAggregator,
          fmtMs(r.aggregator.p50),
          fmtMs(r.aggregator.p99),
          fmtMs(r.directOneServer.p50),
          fmtMs(r.directOneServer.p99),
        ]),
      ),
    );
  }
  if (results.searchTools) {
    const s = results.searchTools;
    md.push("\n## search_tools at 2,000 tools");
    md.push(
      s.available
        ? `\`${s.tool}\` over ${s.tools} tools: p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms (${s.n} calls, ${s.errors} errors)`
        : s.note,
    );
  }
  results.targets = evaluateTargets();
  md.push("\n## Targets");
  md.push(
    table(
      ["target", "goal", "this run", "verdict"],
      results.targets.map((r) => [r.target, r.goal, r.value, r.verdict]),
    ),
  );
  if (results.notes.length) md.push(`\nNotes:\n${results.notes.map((n) => `- ${n}`).join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// Main

/** Formats the results file with the repo's own prettier when it is installed, so `npm run format` stays clean. */
async function formatJson(file, text) {
  try {
    const prettier = await import(
      pathToFileURL(path.join(BENCH_DIR, "..", "node_modules", "prettier", "index.mjs")).href
    );
    return await prettier.format(text, { ...((await prettier.resolveConfig(file)) ?? {}), filepath: file });
  } catch {
    return text;
  }
}

/** 1-minute load average, sampled every 2 s for the record (the run's numbers depend on it). */
const loadSamples = [];
const loadTimer = setInterval(() => loadSamples.push(os.loadavg()[0]), 2_000);
loadTimer.unref();

async function waitQuiet(maxSec) {
  const limit = results.machine.nproc / 2;
  const deadline = Date.now() + maxSec * 1000;
  while (os.loadavg()[0] >= limit && Date.now() < deadline) {
    log(`waiting for a quiet machine: load average ${os.loadavg()[0].toFixed(2)} ≥ ${limit}`);
    await sleep(15_000);
  }
  results.waitedForQuiet = { limit, loadNow: round(os.loadavg()[0], 2), quiet: os.loadavg()[0] < limit };
}

/** Runs a section and records the 1-minute load average around it. */
async function section(name, fn) {
  const before = round(os.loadavg()[0], 2);
  const from = loadSamples.length;
  await fn();
  const during = loadSamples.slice(from);
  (results.loadBySection ??= {})[name] = {
    atStart: before,
    max: round(Math.max(before, ...during), 2),
    atEnd: round(os.loadavg()[0], 2),
  };
}

async function main() {
  if (flags["wait-quiet"]) await waitQuiet(Number(flags["wait-quiet"]));
  results.machine.loadavgAtStart = os.loadavg().map((x) => round(x, 2));
  log(
    `sections: ${[...only].join(", ")}${quick ? " (quick)" : ""}; load average ${results.machine.loadavgAtStart.join(" / ")}`,
  );
  if (only.has("coldstart")) await section("coldstart", coldStart);
  if (only.has("toolslist") || only.has("search")) await section("toolslist/search", toolsListAndSearch);
  if (only.has("latency") || only.has("throughput") || only.has("rss"))
    await section("latency/throughput/rss", latencyAndThroughput);
  if (only.has("modern")) await section("modern", modernSection);
  results.finishedAt = new Date().toISOString();
  results.durationSec = round((performance.now() - t0run) / 1000, 1);
  results.machine.loadavgAtEnd = os.loadavg().map((x) => round(x, 2));
  results.machine.load1mDuringRun = loadSamples.length
    ? {
        min: round(Math.min(...loadSamples), 2),
        median: round(median(loadSamples), 2),
        max: round(Math.max(...loadSamples), 2),
      }
    : undefined;
  report();
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, await formatJson(outFile, `${JSON.stringify(results, null, 2)}\n`));
  process.stdout.write(`${md.join("\n")}\n`);
  log(`results: ${outFile}`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await closeAll();
  const root = tempRoot();
  if (root) rmSync(root, { recursive: true, force: true });
}
