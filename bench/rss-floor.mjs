/**
 * What a process holds before it does any work: the floor under issue #15's peak-RSS target.
 *
 *   node bench/rss-floor.mjs [--servers=1|5] [--rounds=3]
 *
 * Measures, each in a fresh process, the resident set (VmRSS) and V8's used heap where it can:
 *   1. bare Node (an idle event loop);
 *   2. Node after importing the v2 SDK's server and client packages (`@modelcontextprotocol/server`,
 *      `/client`: what any v2 proxy loads before its first message);
 *   3. the plain v2 SDK proxy (bench/floors/sdk2-proxy.mjs) after initialize and tools/list, idle;
 *   4. the aggregator's stdio front (dist/cli.js) with one or five downstreams after initialize and
 *      tools/list, idle.
 * Medians of --rounds rounds. Peak RSS under load is `bench/load.mjs`'s last line (and `npm run bench`).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { connectAggregatorStdio, writeAggregatorConfig } from "./lib/endpoints.mjs";
import { killPids, descendants, memoryOf, serverEntry, tempDir, ROOT, sleep } from "./lib/procs.mjs";

const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k, v.length ? v.join("=") : "true"];
  }),
);
const ROUNDS = Number(opt.rounds ?? 3);
const SERVERS = opt.servers === "1" ? 1 : 5;

/** Runs `node --input-type=module -e CODE` and returns the JSON it prints. */
function probe(code) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`probe exited ${code}`)),
    );
  });
}

/** Lets the process settle for half a second and reads its memory (V8's used heap, garbage included). */
const report = `
await new Promise((r) => setTimeout(r, 500));
const m = process.memoryUsage();
process.stdout.write(JSON.stringify({ rssMb: m.rss / 1048576, heapMb: m.heapUsed / 1048576 }));
`;

async function idleFront(label, connect) {
  const ep = await connect();
  await ep.client.listTools();
  await sleep(500);
  const mem = memoryOf(ep.pid);
  const pids = [ep.pid, ...descendants(ep.pid)];
  await ep.client.close().catch(() => undefined);
  await killPids(pids, 500);
  return { label, rssMb: (mem?.rssKb ?? NaN) / 1024, heapMb: NaN };
}

const home = await tempDir("rss-floor");
const servers = { everything: serverEntry("everything", path.join(home, "a")) };
if (SERVERS === 5)
  for (const s of ["memory", "github", "trello", "postman"]) servers[s] = serverEntry(s, path.join(home, s));
const aggConfig = writeAggregatorConfig(path.join(home, "agg.json"), servers);
const proxyConfig = writeAggregatorConfig(path.join(home, "proxy.json"), {
  everything: serverEntry("everything", path.join(home, "p")),
});

const cases = [
  async () => ({ label: "bare Node", ...(await probe(report)) }),
  async () => ({
    label: "Node + v2 SDK server and client imported",
    ...(await probe(
      `await import("@modelcontextprotocol/server"); await import("@modelcontextprotocol/client");${report}`,
    )),
  }),
  () =>
    idleFront("plain v2 SDK proxy, 1 downstream, idle", () =>
      connectAggregatorStdio({
        configFile: proxyConfig,
        home,
        cli: path.join(ROOT, "bench", "floors", "sdk2-proxy.mjs"),
      }),
    ),
  () =>
    idleFront(`autonomous-mcp (stdio), ${SERVERS} downstream${SERVERS === 1 ? "" : "s"}, idle`, () =>
      connectAggregatorStdio({ configFile: aggConfig, home }),
    ),
];

const results = cases.map(() => []);
for (let round = 0; round < ROUNDS; round++)
  for (const [i, run] of cases.entries()) results[i].push(await run());

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : "—");
console.log(`| process (median of ${ROUNDS}) | VmRSS MB | V8 heap used MB |`);
console.log("| --- | --- | --- |");
for (const rows of results) {
  console.log(
    `| ${rows[0].label} | ${fmt(median(rows.map((r) => r.rssMb)))} | ${fmt(median(rows.map((r) => r.heapMb)))} |`,
  );
}
process.exit(0);
