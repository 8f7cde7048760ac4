/**
 * Connect time of one downstream connection (built dist/, the aggregator's DownstreamConnection) to a
 * modern (2026-07-28) fixture server, with and without the kept era verdict, interleaved:
 *
 *   probe    a fresh VerdictCache: server/discover first (what a server's first connect does)
 *   verdict  the verdict of an earlier connect: connect({ prior }) with no round trip (every restart)
 *
 * Each sample is one connect from nothing to ready (spawn, connect, list tools/resources/prompts), as
 * `connectMs` measures it; the median of --runs (default 10) per kind is printed, over stdio and HTTP.
 *
 *   npm run build && node bench/verdict-connect.mjs [--runs=10] [--era=modern|dual]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { DownstreamConnection } from "../dist/downstream/connection.js";
import { VerdictCache } from "../dist/downstream/verdicts.js";
import { median } from "./lib/stats.mjs";

const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, "").split("=");
    return [k, v.length ? v.join("=") : "true"];
  }),
);
const RUNS = Number(opt.runs ?? 10);
const ERA = opt.era ?? "modern";
const FIXTURE = fileURLToPath(new URL("../test/fixtures/v2-server.mjs", import.meta.url));
const log = pino({ level: "silent" });

function settings(transport, url) {
  return {
    name: `bench-${ERA}`,
    type: transport,
    command: process.execPath,
    args: [FIXTURE, "--era", ERA],
    url,
    env: {},
    headers: {},
    connectTimeoutMs: 30_000,
    restart: { maxRestarts: 0, windowMs: 60_000, initialDelayMs: 100, maxDelayMs: 100 },
    healthCheckIntervalMs: 0,
  };
}

async function connectOnce(s, verdicts) {
  const c = new DownstreamConnection(s, {
    log,
    clientInfo: { name: "autonomous-mcp-bench", version: "0" },
    clientCapabilities: () => ({}),
    hooks: {},
    verdicts,
  });
  const started = performance.now();
  await c.start();
  const ms = performance.now() - started;
  if (c.state !== "ready") throw new Error(`not ready: ${c.lastError?.message}`);
  const version = c.protocolVersion;
  await c.close();
  return { ms, version };
}

async function measure(transport, url) {
  const s = settings(transport, url);
  const kept = new VerdictCache();
  await connectOnce(s, kept); // fills the verdict (and warms the fixture's module cache)
  const samples = { probe: [], verdict: [] };
  let version;
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, alternating which goes first.
    const order = i % 2 === 0 ? ["probe", "verdict"] : ["verdict", "probe"];
    for (const kind of order) {
      const r = await connectOnce(s, kind === "probe" ? new VerdictCache() : kept);
      samples[kind].push(r.ms);
      version = r.version;
    }
  }
  const med = (xs) => median(xs).toFixed(1);
  console.log(
    `${transport.padEnd(5)} ${ERA} (${version}): probe median ${med(samples.probe)} ms, verdict median ${med(samples.verdict)} ms (n=${RUNS} each)`,
  );
}

await measure("stdio");
const child = spawn(process.execPath, [FIXTURE, "--era", ERA, "--transport", "http"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const [first] = await once(child.stdout, "data");
const url = /listening (\S+)/.exec(String(first))?.[1];
try {
  await measure("http", url);
} finally {
  child.kill("SIGTERM");
}
