#!/usr/bin/env node
/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) against the
 * aggregator's Streamable HTTP front, with test/fixtures/conformance-server.mjs as the only downstream, exposed
 * unprefixed (prefix ""), so the suite's fixed fixture names reach it through the aggregator.
 *
 *   npm run build && node test/conformance/run.mjs [extra conformance args, e.g. --scenario ping]
 *
 * Prints the suite's output and exits with its exit code. The aggregator is always stopped.
 * test/conformance/expected-failures.yml is passed with --expected-failures when it lists any scenario.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "dist", "cli.js");
const FIXTURE = path.join(ROOT, "test", "fixtures", "conformance-server.mjs");
const EXPECTED_FAILURES = path.join(ROOT, "test", "conformance", "expected-failures.yml");

function conformanceBin() {
  const dir = path.join(ROOT, "node_modules", "@modelcontextprotocol", "conformance");
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance;
  return path.join(dir, bin);
}

/** True when the baseline file lists at least one scenario (a bare `server: []` would only add noise). */
function hasExpectedFailures() {
  if (!existsSync(EXPECTED_FAILURES)) return false;
  return readFileSync(EXPECTED_FAILURES, "utf8")
    .split("\n")
    .some((line) => /^\s*-\s*\S/.test(line.replace(/#.*/, "")));
}

if (!existsSync(CLI)) {
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

const aggregator = spawn(
  process.execPath,
  [CLI, "serve", "--config", configFile, "--transport", "http", "--port", "0"],
  {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: tmp,
      AUTONOMOUS_MCP_LOG_LEVEL: process.env.AUTONOMOUS_MCP_LOG_LEVEL ?? "info",
    },
    stdio: ["ignore", "ignore", "pipe"],
  },
);
let aggregatorStderr = "";
let stopping = false;

async function stopAggregator() {
  stopping = true;
  if (aggregator.exitCode === null && aggregator.signalCode === null) {
    const exited = new Promise((resolve) => aggregator.once("exit", resolve));
    aggregator.kill("SIGTERM");
    const timer = setTimeout(() => aggregator.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(tmp, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    void stopAggregator().then(() => process.exit(130));
  });
}

let code = 1;
try {
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" line within 20 s; stderr:\n${aggregatorStderr}`)),
      20_000,
    );
    aggregator.stderr.on("data", (chunk) => {
      aggregatorStderr += chunk.toString("utf8");
      const m = /listening on (http:\/\/\S+)/.exec(aggregatorStderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    aggregator.once("exit", (c, s) => {
      if (!stopping) reject(new Error(`aggregator exited early (${c ?? s}); stderr:\n${aggregatorStderr}`));
    });
  });
  process.stdout.write(`aggregator listening on ${url}\n`);

  const args = [conformanceBin(), "server", "--url", url, ...process.argv.slice(2)];
  if (hasExpectedFailures()) args.push("--expected-failures", EXPECTED_FAILURES);
  const suite = spawn(process.execPath, args, {
    cwd: tmp,
    stdio: ["ignore", "inherit", "inherit"],
    env: process.env,
  });
  code = await new Promise((resolve) => suite.once("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
} catch (err) {
  process.stderr.write(`run.mjs: ${err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  await stopAggregator();
  if (code !== 0 && process.env.CONFORMANCE_SHOW_AGGREGATOR_LOG !== "0") {
    process.stderr.write(`\n--- aggregator stderr (last 4000 chars) ---\n${aggregatorStderr.slice(-4000)}\n`);
  }
}
process.exit(code);
