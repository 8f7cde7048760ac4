#!/usr/bin/env node
/**
 * CPU per call by bucket from one V8 .cpuprofile of a steady load (docs/PERFORMANCE.md, "Where the time
 * goes"): each main-thread sample of the last WINDOW seconds before the process's last 0.3 s is given to
 * its leaf function's bucket (the SDK's zod, its server and client, our JSON-RPC framing, the pipeline,
 * Node's AbortSignal/EventTarget, pipe writes, GC, ...), and each bucket is divided by CALLS.
 *
 *   node bench/load.mjs --inflight=32 --seconds=8 --cli=dist/cli-modules.js --flags="--cpu-prof --cpu-prof-dir=/tmp/p"
 *   node bench/profile-buckets.mjs /tmp/p CALLS 8        (CALLS: the "N calls" load.mjs printed)
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
let [file, calls, windowS] = process.argv.slice(2);
if (statSync(file).isDirectory())
  file = file + "/" + readdirSync(file).find((f) => f.endsWith(".cpuprofile"));
const p = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
function bucket(n) {
  const f = n.callFrame.functionName,
    u = n.callFrame.url;
  if (f === "(idle)") return "idle";
  if (f === "(garbage collector)") return "GC (main thread)";
  if (f === "(program)") return "(program)";
  if (/^(writeUtf8String|writev|writeBuffer|writeString|writeLatin1String)$/.test(f))
    return "pipe/socket writes (syscall)";
  if (u.includes("/zod/")) return "zod (SDK schemas)";
  if (u.includes("@modelcontextprotocol/server")) return "SDK server";
  if (u.includes("@modelcontextprotocol/client")) return "SDK client";
  if (u.includes("@modelcontextprotocol/core") || u.includes("@modelcontextprotocol/node"))
    return "SDK core/node";
  if (u.includes("opossum")) return "opossum (breaker)";
  if (u.includes("prom-client")) return "prom-client (metrics)";
  if (u.includes("/node_modules/")) return "other packages";
  if (u.includes("/dist/jsonrpc/")) return "ours: jsonrpc (parse, serialize, line buffer, writes)";
  if (u.includes("/dist/pipeline/")) return "ours: pipeline layers";
  if (u.includes("/dist/front/")) return "ours: front";
  if (u.includes("/dist/downstream/")) return "ours: downstream";
  if (u.includes("/dist/signals")) return "ours: signals";
  if (u.includes("/dist/") || u.includes("/bench/floors/")) return "ours: other modules";
  if (/abort_controller|event_target/.test(u)) return "node: AbortSignal / EventTarget";
  if (u.startsWith("node:")) return "node: other core";
  if (f === "parse" || f === "stringify") return "JSON (native)";
  return "native / anonymous";
}
const acc = new Map();
const dt = p.timeDeltas;
const ts = [];
let t = p.startTime;
for (const d of dt) {
  t += d;
  ts.push(t);
}
const end = ts[ts.length - 1];
const lo = windowS ? end - (Number(windowS) + 0.3) * 1e6 : -Infinity;
const hi = windowS ? end - 0.3e6 : Infinity;
p.samples.forEach((id, i) => {
  if (ts[i] < lo || ts[i] > hi) return;
  const b = bucket(byId.get(id));
  acc.set(b, (acc.get(b) ?? 0) + (dt[i + 1] ?? 0) / 1000);
});
let busy = 0;
for (const [k, v] of acc) if (k !== "idle") busy += v;
for (const [k, v] of [...acc].sort((a, b) => b[1] - a[1]))
  if (k !== "idle") console.log(`${((v * 1000) / calls).toFixed(2).padStart(7)} µs  ${k}`);
console.log(`${((busy * 1000) / calls).toFixed(2).padStart(7)} µs  total busy (main thread)`);
