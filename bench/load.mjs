/**
 * Steady load for external tools (strace, perf): C calls in flight to server-everything `echo` through the
 * aggregator's stdio front for --seconds, then prints calls done and the aggregator's CPU per call.
 * Also prints, per call, the process's user and system CPU (all threads), its read and write syscalls and
 * its context switches (/proc/PID/stat, io, status). Prints "READY pid=<aggregator pid>" on stderr when the
 * load starts.
 *
 *   node bench/load.mjs [--inflight=32] [--seconds=5] [--servers=1|5] [--cli=dist/cli.js] [--flags="--perf-basic-prof"] [--direct]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { connectAggregatorStdio, connectStdio, writeAggregatorConfig } from "./lib/endpoints.mjs";
import { killPids, descendants, serverEntry, tempDir } from "./lib/procs.mjs";

const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k, v.length ? v.join("=") : "true"];
  }),
);
const C = Number(opt.inflight ?? 32);
const SECONDS = Number(opt.seconds ?? 5);
const home = await tempDir("load");
let ep;
if (opt.direct) {
  ep = await connectStdio({
    id: "direct",
    label: "direct",
    kind: "direct",
    ...serverEntry("everything", path.join(home, "d")),
  });
} else {
  // --servers=5: the benchmark's five downstreams (echo still goes to server-everything).
  const servers = { everything: serverEntry("everything", path.join(home, "a")) };
  if (opt.servers === "5")
    for (const s of ["memory", "github", "trello", "postman"])
      servers[s] = serverEntry(s, path.join(home, s));
  const cfg = writeAggregatorConfig(path.join(home, "agg.json"), servers);
  ep = await connectAggregatorStdio({
    configFile: cfg,
    home,
    nodeFlags: opt.flags ? opt.flags.split(" ") : [],
    ...(opt.cli ? { cli: opt.cli } : {}),
  });
}
await ep.discover({ t: ["everything_echo", "echo"] });
for (let i = 0; i < 2000; i++) await ep.call("t", { message: "hello" });
/** utime and stime of the process (all its threads) in ms, from /proc/PID/stat (clock ticks of 10 ms). */
const times = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 };
};
const cpu = (pid) => {
  const t = times(pid);
  return t.user + t.sys;
};
/** Read and write syscalls (/proc/PID/io) and context switches (/proc/PID/status) so far. */
const counters = (pid) => {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const num = (text, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
  return {
    reads: num(io, "syscr"),
    writes: num(io, "syscw"),
    voluntary: num(status, "voluntary_ctxt_switches"),
    involuntary: num(status, "nonvoluntary_ctxt_switches"),
  };
};
process.stderr.write(`READY pid=${ep.pid}\n`);
const c0 = cpu(ep.pid);
const t0s = times(ep.pid);
const k0 = counters(ep.pid);
let done = 0;
const end = performance.now() + SECONDS * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: C }, async () => {
    while (performance.now() < end) {
      await ep.call("t", { message: "hello" });
      done++;
    }
  }),
);
const secs = (performance.now() - t0) / 1000;
console.log(
  `${done} calls in ${secs.toFixed(2)} s: ${(done / secs).toFixed(0)}/s; process CPU ${((1000 * (cpu(ep.pid) - c0)) / done).toFixed(1)} µs/call`,
);
const t1s = times(ep.pid);
const k1 = counters(ep.pid);
const per = (a, b) => ((b - a) / done).toFixed(2);
console.log(
  `per call: user ${((1000 * (t1s.user - t0s.user)) / done).toFixed(1)} µs, system ${((1000 * (t1s.sys - t0s.sys)) / done).toFixed(1)} µs; ` +
    `read syscalls ${per(k0.reads, k1.reads)}, write syscalls ${per(k0.writes, k1.writes)}; ` +
    `context switches ${per(k0.voluntary, k1.voluntary)} voluntary, ${per(k0.involuntary, k1.involuntary)} involuntary`,
);
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${ep.pid}/status`, "utf8"))?.[1];
console.log(`peak RSS (VmHWM) ${(Number(hwm) / 1024).toFixed(1)} MB`);
const pids = [ep.pid, ...descendants(ep.pid)];
await ep.client.close().catch(() => {});
await killPids(pids, 500);
process.exit(0);
