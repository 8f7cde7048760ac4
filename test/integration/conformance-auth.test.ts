import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, tempDir, type TempDir } from "../helpers/aggregator.js";

/**
 * The official conformance suite's client `auth/*` scenarios with the aggregator as the client, beside a
 * plain v2 SDK client (test/conformance/run-auth.mjs; docs/oauth.md "Conformance"): every scenario the
 * plain client passes, the aggregator passes.
 */
interface Row {
  scenario: string;
  aggregator: { pass: boolean; failed: string[] };
  plain: { pass: boolean; failed: string[] };
}

let tmp: TempDir;
let rows: Row[];
let output: string;
let code: number | null;

beforeAll(async () => {
  tmp = await tempDir("amcp-conf-auth-test-");
  const json = path.join(tmp.dir, "auth.json");
  ({ code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "test", "conformance", "run-auth.mjs"), "--json", json],
      {
        cwd: ROOT,
        env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (exit) => resolve({ code: exit, output: out }));
  }));
  rows = (JSON.parse(await readFile(json, "utf8")) as { rows: Row[] }).rows;
}, 900_000);

afterAll(async () => {
  await tmp?.cleanup();
});

describe("conformance client auth/* scenarios with the aggregator as the client", () => {
  it("passes every scenario the plain v2 SDK client passes", () => {
    const onlyPlain = rows.filter((r) => r.plain.pass && !r.aggregator.pass).map((r) => r.scenario);
    expect(onlyPlain, output).toEqual([]);
    expect(code, output).toBe(0);
    // 0.1.13 has 19 client auth scenarios; the plain client passes 17 of them.
    expect(rows.length, output).toBeGreaterThanOrEqual(19);
    expect(rows.filter((r) => r.plain.pass).length, output).toBeGreaterThanOrEqual(17);
  });

  it("covers sign-in, step-up at call time, pre-registration, CIMD and machine clients", () => {
    const passed = new Set(rows.filter((r) => r.aggregator.pass).map((r) => r.scenario));
    for (const scenario of [
      "auth/metadata-default",
      "auth/scope-step-up",
      "auth/scope-retry-limit",
      "auth/pre-registration",
      "auth/basic-cimd",
      "auth/resource-mismatch",
      "auth/client-credentials-basic",
      "auth/client-credentials-jwt",
    ])
      expect(passed.has(scenario), `${scenario}\n${output}`).toBe(true);
  });
});
