#!/usr/bin/env node
/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`): self time aggregated by function + file,
 * and inclusive ("total") time by file / package, so the hot path of the aggregator is visible.
 *
 *   node bench/profile-summary.mjs <file.cpuprofile | dir> [--top=N] [--json] [--exclude-idle]
 *                                  [--callers=FUNCTION] [--depth=N] [--from=FUNCTION] [--until=FUNCTION]
 *                                  [--inclusive]
 *
 * --inclusive adds the top functions by inclusive time (self + callees; each sample counted once per
 * function even under recursion), which shows how the per-call work splits between front, pipeline,
 * downstream and SDK.
 *
 * --from=F / --until=F keep only the samples from the first one whose stack contains function F
 * (e.g. `callTool`: start-up excluded) up to the first one whose stack contains function F (e.g.
 * `stop,shutdown,drain`: shutdown excluded), so the steady state of a benchmark is what is
 * summarised. F may be a comma-separated list (any of them).
 *
 * --callers=F prints, for the samples whose leaf function is F, the call stacks above it (N frames,
 * default 6) weighted by self time: where the hot leaf is called from.
 *
 * Self % is relative to all samples, (idle), (program) and (garbage collector) included, unless
 * --exclude-idle is given (then relative to non-idle samples).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    inclusive: { type: "boolean", default: false },
    from: { type: "string" },
    until: { type: "string" },
    callers: { type: "string" },
    depth: { type: "string", default: "6" },
    top: { type: "string", default: "25" },
    json: { type: "boolean", default: false },
    "exclude-idle": { type: "boolean", default: false },
  },
});
const target = positionals[0] ?? "/tmp/amcp-prof";
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(target, f))
  : [target];
if (files.length === 0) {
  process.stderr.write(`no .cpuprofile in ${target}\n`);
  process.exit(1);
}
const top = Number(values.top);

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);

/** A readable location: path relative to the repo (or node:internal), plus the package if any. */
function where(url) {
  if (!url) return "";
  let p = url.replace(/^file:\/\//, "");
  if (p.startsWith(ROOT)) p = path.relative(ROOT, p);
  return p;
}
function pkgOf(url) {
  const p = where(url);
  if (!p) return "(native / vm)";
  if (p.startsWith("node:")) return "node: core";
  const nm = p.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = p.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (p.startsWith("dist/")) return `autonomous-mcp ${p.split("/").slice(0, 2).join("/")}`;
  return p;
}

const self = new Map();
const incl = new Map();
const callerStacks = new Map();
const byPkg = new Map();
let total = 0;
let idle = 0;
let durationUs = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackHas = (id, fns) => {
    const names = fns.split(",");
    for (let p = id; p !== undefined; p = parent.get(p))
      if (names.includes(nodes.get(p).callFrame.functionName)) return true;
    return false;
  };
  let first = 0;
  let last = prof.samples.length;
  if (values.from) {
    first = prof.samples.findIndex((id) => stackHas(id, values.from));
    if (first < 0) throw new Error(`no sample has ${values.from} on its stack`);
  }
  if (values.until) {
    const i = prof.samples.findIndex((id, k) => k > first && stackHas(id, values.until));
    if (i >= 0) last = i;
  }
  // time of each sample = delta to the next one
  const counts = new Map();
  const deltas = prof.timeDeltas ?? [];
  for (let i = first; i < last; i++) {
    const dt = deltas[i + 1] ?? deltas[i] ?? 0;
    counts.set(prof.samples[i], (counts.get(prof.samples[i]) ?? 0) + Math.max(0, dt));
  }
  for (let i = first; i < last; i++) durationUs += Math.max(0, deltas[i + 1] ?? 0);
  for (const [id, us] of counts) {
    const n = nodes.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    total += us;
    if (name === "(idle)") idle += us;
    const key = `${name}\u0000${where(cf.url)}\u0000${cf.lineNumber + 1}`;
    const e = self.get(key) ?? { fn: name, file: where(cf.url), line: cf.lineNumber + 1, us: 0 };
    e.us += us;
    self.set(key, e);
    if (values.inclusive) {
      const seen = new Set();
      for (let p = id; p !== undefined; p = parent.get(p)) {
        const f = nodes.get(p).callFrame;
        if (f.functionName === "(root)" || f.functionName === "(idle)") continue;
        const k = `${f.functionName || "(anonymous)"}\u0000${where(f.url)}\u0000${f.lineNumber + 1}`;
        if (seen.has(k)) continue;
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + us);
      }
    }
    if (values.callers && name === values.callers) {
      const frames = [];
      let p = parent.get(id);
      while (p !== undefined && frames.length < Number(values.depth)) {
        const f = nodes.get(p).callFrame;
        if (f.functionName !== "(root)")
          frames.push(`${f.functionName || "(anonymous)"} ${where(f.url)}:${f.lineNumber + 1}`);
        p = parent.get(p);
      }
      const k = frames.join("\n    ← ");
      callerStacks.set(k, (callerStacks.get(k) ?? 0) + us);
    }
    const pk = name.startsWith("(") ? name : pkgOf(cf.url);
    byPkg.set(pk, (byPkg.get(pk) ?? 0) + us);
  }
}

const denom = values["exclude-idle"] ? total - idle : total;
const rows = [...self.values()]
  .filter((e) => !(values["exclude-idle"] && e.fn === "(idle)"))
  .sort((a, b) => b.us - a.us)
  .slice(0, top)
  .map((e) => ({ ...e, ms: e.us / 1000, pct: (100 * e.us) / denom }));
const pkgs = [...byPkg.entries()]
  .filter(([k]) => !(values["exclude-idle"] && k === "(idle)"))
  .sort((a, b) => b[1] - a[1])
  .map(([pkg, us]) => ({ pkg, ms: us / 1000, pct: (100 * us) / denom }));

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ files, durationMs: durationUs / 1000, sampledMs: total / 1000, idleMs: idle / 1000, top: rows, byPackage: pkgs }, null, 2)}\n`,
  );
} else {
  const out = [];
  out.push(`profile: ${files.join(", ")}`);
  out.push(
    `wall ${(durationUs / 1000).toFixed(0)} ms, sampled ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms (${((100 * idle) / total).toFixed(1)} %); self % of ${values["exclude-idle"] ? "non-idle" : "all"} samples`,
  );
  out.push("");
  out.push("| # | function | file:line | self ms | self % |");
  out.push("| --- | --- | --- | --- | --- |");
  rows.forEach((r, i) =>
    out.push(
      `| ${i + 1} | \`${r.fn}\` | ${r.file ? `${r.file}:${r.line}` : "—"} | ${r.ms.toFixed(1)} | ${r.pct.toFixed(2)} |`,
    ),
  );
  out.push("");
  out.push("Self time by package / file group:");
  out.push("");
  out.push("| group | self ms | self % |");
  out.push("| --- | --- | --- |");
  for (const p of pkgs.slice(0, 20)) out.push(`| ${p.pkg} | ${p.ms.toFixed(1)} | ${p.pct.toFixed(2)} |`);
  if (values.inclusive) {
    out.push("");
    out.push("Inclusive time (self + callees):");
    out.push("");
    out.push("| # | function | file:line | total ms | total % |");
    out.push("| --- | --- | --- | --- | --- |");
    [...incl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .forEach(([k, us], i) => {
        const [fn, file, line] = k.split("\u0000");
        out.push(
          `| ${i + 1} | \`${fn}\` | ${file ? `${file}:${line}` : "—"} | ${(us / 1000).toFixed(1)} | ${((100 * us) / denom).toFixed(2)} |`,
        );
      });
  }
  if (values.callers) {
    out.push("");
    out.push(`Callers of \`${values.callers}\` (by self time):`);
    for (const [k, us] of [...callerStacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
      out.push("");
      out.push(`${(us / 1000).toFixed(1)} ms (${((100 * us) / denom).toFixed(2)} %)`);
      out.push(`    ← ${k}`);
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}
