/**
 * Quick iteration harness (not the benchmark of record; that is run.mjs): server-everything `echo`
 * direct vs through the aggregator's stdio front, interleaved. Prints added p50 (sequential calls),
 * calls/s at the given in-flight levels, and the aggregator's CPU time per call (utime+stime from
 * /proc/PID/stat), which is what limits throughput on a 2-core machine.
 *
 *   node bench/quick.mjs [--calls=2000] [--levels=1,32] [--window=1000] [--servers=1|5]
 *                        [--base=OTHER/dist/cli.js,bench/floors/pipe.mjs,bench/floors/parse.mjs] [--cli=dist/cli-modules.js]
 *                        [--baseline-ref=REF]   (REF's build from bench/baseline.mjs, e.g. pre-v2, as one more --base)
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { baselineCli } from "./baseline.mjs";
import { connectAggregatorStdio, connectStdio, writeAggregatorConfig } from "./lib/endpoints.mjs";
import { killPids, descendants, serverEntry, tempDir, tempRoot } from "./lib/procs.mjs";
import { percentile } from "./lib/stats.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k, v.length ? v.join("=") : "true"];
  }),
);
const CALLS = Number(opt.calls ?? 2000);
const LEVELS = (opt.levels ?? "1,32").split(",").map(Number);
const WINDOW = Number(opt.window ?? 1000);
const FIVE = opt.servers === "5";
const TOOL = opt.tool ?? "echo";
const ARGS = TOOL === "echo" ? { message: opt.message ?? "hello" } : {};

const tick = 100; // USER_HZ
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
}

const home = await tempDir("quick");
const server = TOOL === "echo" ? "everything" : "memory";
const direct = await connectStdio({
  id: "direct",
  label: "direct",
  kind: "direct",
  ...serverEntry(server, path.join(home, "d")),
});
const servers = { [server]: serverEntry(server, path.join(home, "a")) };
if (FIVE)
  for (const s of ["memory", "github", "trello", "postman", "everything"])
    servers[s] ??= serverEntry(s, path.join(home, s));
const cfg = writeAggregatorConfig(
  path.join(home, "agg.json"),
  servers,
  opt.extra ? JSON.parse(opt.extra) : {},
);
// --heap=VALUE: AUTONOMOUS_MCP_HEAP for the aggregator under test (e.g. on, semi=2; no governor by default).
const aggEnv = {
  ...(opt.heap ? { AUTONOMOUS_MCP_HEAP: opt.heap } : {}),
  ...(opt.env ? JSON.parse(opt.env) : {}),
};
const agg = await connectAggregatorStdio({
  env: aggEnv,
  configFile: cfg,
  home,
  nodeFlags: opt.flags ? opt.flags.split(" ") : [],
  ...(opt.cli ? { cli: opt.cli } : {}),
});
await direct.discover({ t: [TOOL] });
await agg.discover({ t: [`${server}_${TOOL}`, TOOL] });
const paths = [direct, agg];
const idle = [];
// --idlehttp: also connect (and never call) the aggregator's HTTP front, as bench/run.mjs does.
if (opt.idlehttp) {
  const { connectAggregatorHttp } = await import("./lib/endpoints.mjs");
  const h = await connectAggregatorHttp({ configFile: cfg, home });
  await h.discover({ t: [`${server}_${TOOL}`, TOOL] });
  if (opt.idlehttp === "call") paths.push(h);
  else idle.push(h);
}
// --base=A[,B...]: more aggregator builds or floors (e.g. a copy of the previous dist/cli.js, or
// bench/floors/pipe.mjs and bench/floors/parse.mjs), measured in the same run, each with its own server.
const bases = [];
const baseClis = opt.base ? opt.base.split(",") : [];
if (opt["baseline-ref"])
  baseClis.push(baselineCli(opt["baseline-ref"], (l) => process.stderr.write(`${l}\n`)).cli);
for (const [i, cli] of baseClis.entries()) {
  // The same downstreams as the aggregator under test (its own copies), so --servers=5 compares alike.
  const bservers = { [server]: serverEntry(server, path.join(home, `b${i}`)) };
  if (FIVE && !cli.includes("floors"))
    for (const s of ["memory", "github", "trello", "postman", "everything"])
      bservers[s] ??= serverEntry(s, path.join(home, `b${i}-${s}`));
  const bcfg = writeAggregatorConfig(
    path.join(home, `base${i}.json`),
    bservers,
    opt.extra ? JSON.parse(opt.extra) : {},
  );
  const base = await connectAggregatorStdio({
    id: `base${i}`,
    label:
      cli.includes(`${path.sep}.cache${path.sep}`) && opt["baseline-ref"]
        ? `${opt["baseline-ref"]} build`
        : path.relative(process.cwd(), path.resolve(cli)),
    configFile: bcfg,
    home,
    cli,
  });
  await base.discover({ t: [`${server}_${TOOL}`, TOOL] });
  bases.push(base);
  paths.push(base);
}

async function seq(ep, n, out) {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await ep.call("t", ARGS);
    out?.push(performance.now() - t0);
  }
}
for (const ep of paths) await seq(ep, 300);
const lat = new Map(paths.map((p) => [p, []]));
for (let r = 0; r < CALLS / 50; r++) {
  const order = r % 2 ? [...paths].reverse() : paths;
  for (const ep of order) await seq(ep, 50, lat.get(ep));
}
const p50 = (ep) =>
  percentile(
    [...lat.get(ep)].sort((a, b) => a - b),
    50,
  );
const p99 = (ep) =>
  percentile(
    [...lat.get(ep)].sort((a, b) => a - b),
    99,
  );
console.log(
  `latency p50 direct ${p50(direct).toFixed(3)} ms, agg ${p50(agg).toFixed(3)} ms, added ${(p50(agg) - p50(direct)).toFixed(3)} ms (p99 added ${(p99(agg) - p99(direct)).toFixed(3)})${bases.map((b) => `; ${b.label} added ${(p50(b) - p50(direct)).toFixed(3)} ms`).join("")}`,
);

async function closed(ep, c, ms) {
  let done = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) {
        await ep.call("t", ARGS);
        done++;
      }
    }),
  );
  return { rate: (done * 1000) / (performance.now() - t0), done };
}
// --rounds=N: interleaved rounds per in-flight level (default 3); --ref=LABEL-PART: the path the
// summary's ratios are taken against (default: the last --base), each ratio paired within its round.
const ROUNDS = Number(opt.rounds ?? 3);
const summary = [];
for (const c of LEVELS) {
  const res = new Map(paths.map((p) => [p, []]));
  const cpu = new Map(paths.map((p) => [p, { ms: 0, calls: 0 }]));
  const cpuRounds = new Map(paths.map((p) => [p, []]));
  const cpuNote = new Map(paths.map((p) => [p, []]));
  for (const ep of paths) await closed(ep, c, 300);
  for (let r = 0; r < ROUNDS; r++) {
    for (const ep of r % 2 ? [...paths].reverse() : paths) {
      const before = ep !== direct ? cpuMs(ep.pid) : 0;
      const srv = ep !== direct ? descendants(ep.pid)[0] : ep.pid;
      const sBefore = cpuMs(srv);
      const cBefore = process.cpuUsage();
      const { rate, done } = await closed(ep, c, WINDOW);
      const cu = process.cpuUsage(cBefore);
      cpuNote
        .get(ep)
        .push(
          `client ${((cu.user + cu.system) / done).toFixed(1)} server ${((1000 * (cpuMs(srv) - sBefore)) / done).toFixed(1)}`,
        );
      if (ep !== direct) {
        const acc = cpu.get(ep);
        acc.ms += cpuMs(ep.pid) - before;
        acc.calls += done;
        cpuRounds.get(ep).push((1000 * (cpuMs(ep.pid) - before)) / done);
      }
      res.get(ep).push(rate);
    }
  }
  const med = (ep) => median(res.get(ep));
  summary.push({ c, res, cpuRounds });
  const perCall = (ep) => ((1000 * cpu.get(ep).ms) / cpu.get(ep).calls).toFixed(1);
  console.log(
    `${c} in flight: direct ${med(direct).toFixed(0)}/s, agg ${med(agg).toFixed(0)}/s (${((100 * med(agg)) / med(direct)).toFixed(0)} %), agg CPU ${perCall(agg)} µs/call; µs/call direct: ${cpuNote.get(direct)[1]}; via agg: ${cpuNote.get(agg)[1]}${bases.map((b) => `; ${b.label} ${med(b).toFixed(0)}/s (${((100 * med(b)) / med(direct)).toFixed(0)} %), CPU ${perCall(b)} µs/call (${cpuNote.get(b)[1]})`).join("")}`,
  );
}
{
  const ref = (opt.ref && paths.find((p) => p.label.includes(opt.ref))) || bases.at(-1) || direct;
  const lbl = (ep) => (ep === agg ? "autonomous-mcp (this build)" : ep.label);
  const spread = (xs, d = 0) =>
    `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;
  console.log(
    `\nsummary: ${ROUNDS} interleaved rounds per level; ratios paired per round against ${lbl(ref)}`,
  );
  console.log(
    "| in flight | path | calls/s median [min–max] | CPU µs/call median [min–max] | calls/s ratio | CPU ratio |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const { c, res, cpuRounds } of summary)
    for (const ep of paths) {
      const ratios = res.get(ep).map((x, i) => x / res.get(ref)[i]);
      const cr = cpuRounds.get(ep);
      const cpuRatio = ep === direct || ref === direct ? [] : cr.map((x, i) => x / cpuRounds.get(ref)[i]);
      console.log(
        `| ${c} | ${lbl(ep)} | ${spread(res.get(ep))} | ${cr.length ? spread(cr, 1) : "—"} | ${spread(ratios, 2)} | ${cpuRatio.length ? spread(cpuRatio, 2) : "—"} |`,
      );
    }
  const added = (ep) => p50(ep) - p50(direct);
  console.log(
    `added p50 (sequential): ${paths
      .filter((p) => p !== direct)
      .map((p) => `${lbl(p)} +${added(p).toFixed(3)} ms`)
      .join("; ")}`,
  );
}
const hwm = readFileSync(`/proc/${agg.pid}/status`, "utf8").match(/VmHWM:\s+(\d+)/)[1];
{
  const f = readFileSync(`/proc/${agg.pid}/stat`, "utf8").split(") ")[1].split(" ");
  const st = readFileSync(`/proc/${agg.pid}/status`, "utf8");
  console.log(
    `agg total utime ${f[11]} stime ${f[12]} ticks; ctxt switches ${st.match(/voluntary_ctxt_switches:\s+(\d+)/)[1]} vol`,
  );
}
console.log(`agg VmHWM ${(Number(hwm) / 1024).toFixed(1)} MB`);
for (const ep of [...paths, ...idle]) {
  const pids = [ep.pid, ...descendants(ep.pid)];
  await ep.client.close().catch(() => {});
  await killPids(pids, 500);
}
rmSync(tempRoot(), { recursive: true, force: true });
process.exit(0);
