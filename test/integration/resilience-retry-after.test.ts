import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, expectToolError, startAggregator, text, type Agg } from "../helpers/resilience.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/rate-limited-http-server.mjs", import.meta.url));

interface Stats {
  refused: Record<string, number[]>;
  served: Record<string, number[]>;
}

async function startLimited(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FIXTURE], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`rate-limited server exited with ${code}`)));
  });
  return { child, url };
}

/**
 * An HTTP downstream answering 429 + Retry-After (docs/resilience.md, "Retry-After"): the next attempt
 * goes out when the server said, not at once; a wait longer than the call's budget fails at once.
 */
describe("resilience: HTTP 429 with Retry-After", () => {
  let agg: Agg;
  let server: { child: ChildProcess; url: string };

  const stats = async (): Promise<Stats> => JSON.parse(text(await agg.result("web_stats"))) as Stats;

  beforeAll(async () => {
    server = await startLimited();
    agg = await startAggregator({
      web: {
        type: "http",
        url: server.url,
        healthCheckIntervalMs: 0,
        totalTimeoutMs: 30_000,
        // These tests refuse on purpose; keep the breaker out of them.
        breaker: { volumeThreshold: 1_000 },
        // A 10 ms backoff: before Retry-After was honoured, all three attempts went out within ~30 ms.
        retry: { retries: 2, minTimeoutMs: 10, maxTimeoutMs: 20, randomize: false },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await agg?.close();
    if (server?.child.exitCode === null) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
    }
  });

  it("waits the Retry-After seconds before the retry, then succeeds", async () => {
    const r = await agg.call("web_limited", { key: "seconds", times: 1, retryAfter: "1" });
    expect(expectOk(r)).toBe("ok after 1 refusals");
    const s = await stats();
    const [refusedAt] = s.refused["seconds"] ?? [];
    const [servedAt] = s.served["seconds"] ?? [];
    // What the server saw: the retry came no sooner than it asked (1 s), not 10 ms later.
    expect((servedAt ?? 0) - (refusedAt ?? 0)).toBeGreaterThanOrEqual(990);
  }, 30_000);

  it("honours an HTTP-date Retry-After", async () => {
    const at = new Date(Date.now() + 2_000).toUTCString(); // whole seconds: 1-2 s from now
    const r = await agg.call("web_limited", { key: "date", times: 1, retryAfter: at });
    expect(expectOk(r)).toBe("ok after 1 refusals");
    const s = await stats();
    expect(s.served["date"]?.[0] ?? 0).toBeGreaterThanOrEqual(Date.parse(at) - 10);
  }, 30_000);

  it("a Retry-After longer than the call's budget fails at once, naming the wait", async () => {
    const r = await agg.call("web_limited", { key: "long", times: 5, retryAfter: "3600" });
    expectToolError(r, /web_limited/, /HTTP 429/, /asked to wait 3600 s \(Retry-After\)/, /totalTimeoutMs/);
    const s = await stats();
    expect(s.refused["long"]).toHaveLength(1); // no retry went out
    expect(s.served["long"]).toBeUndefined();
  }, 30_000);

  it("each wait spends a retry: 3 refusals with 2 retries fail with the last refusal", async () => {
    const r = await agg.call("web_limited", { key: "budget", times: 3, retryAfter: "0" });
    expectToolError(r, /HTTP 429/, /Retry-After: 0 ms/);
    const s = await stats();
    expect(s.refused["budget"]).toHaveLength(3);
    expect(s.served["budget"]).toBeUndefined();
  }, 30_000);
});
