import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { alive, waitFor } from "../helpers/aggregator.js";
import {
  expectOk,
  expectToolError,
  running,
  startAggregator,
  text,
  type Agg,
} from "../helpers/resilience.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/forgetful-http-server.mjs", import.meta.url));

interface ForgetfulStats {
  initializations: number;
  sessions: number;
  notFound: number;
  calls: Record<string, number>;
  writes: string[];
}

async function startForgetful(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FIXTURE], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`forgetful server did not start; stderr:\n${err}`)),
      10_000,
    );
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`forgetful server exited with ${code}; stderr:\n${err}`)));
  });
  return { child, url };
}

/**
 * A Streamable HTTP downstream that forgets its sessions (HTTP 404 on the old session id): the aggregator
 * initializes again; a retry-safe call is retried once and succeeds, a write is not retried, the next works.
 */
describe("resilience: HTTP downstream that forgets its session", () => {
  let agg: Agg;
  let server: { child: ChildProcess; url: string };

  // The aggregator survives every test (close() checks it once more, then that nothing is left).
  afterEach(() => {
    expect(running(agg.pid), `the aggregator died; stderr:\n${agg.h.stderr().slice(-2000)}`).toBe(true);
  });

  const stats = async (): Promise<ForgetfulStats> =>
    JSON.parse(text(await agg.result("web_stats"))) as ForgetfulStats;
  const forget = async (): Promise<void> => {
    expect(text(await agg.result("web_forget"))).toMatch(/^forgetting 1 sessions$/);
    // The server drops the sessions ~50 ms after answering.
    await new Promise((r) => setTimeout(r, 200));
  };

  beforeAll(async () => {
    server = await startForgetful();
    agg = await startAggregator({
      web: {
        type: "http",
        url: server.url,
        healthCheckIntervalMs: 0,
        retry: { retries: 2, minTimeoutMs: 20, maxTimeoutMs: 100, randomize: false },
      },
    });
  });

  afterAll(async () => {
    await agg?.close();
    if (server?.child.exitCode === null) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
    }
  });

  it("connects over Streamable HTTP", async () => {
    expect(expectOk(await agg.call("web_echo", { message: "hi" }))).toBe("hi");
    const s = await stats();
    expect(s.initializations).toBe(1);
    expect(s.notFound).toBe(0);
  });

  it("re-initializes after a 404 and retries a read-only call once", async () => {
    await forget();
    expect(expectOk(await agg.call("web_echo", { message: "after forget" }))).toBe("after forget");
    const s = await stats();
    expect(s.initializations).toBe(2);
    expect(s.notFound).toBe(1); // the first attempt; the retry went to the new session
    expect(s.calls["echo"]).toBe(2);
    expect(s.sessions).toBe(1);
    expect((await agg.serverStatus("web")).state).toBe("ready");
  });

  it("does not retry a write after a 404, and the next call works", async () => {
    await forget();
    const t = expectToolError(await agg.call("web_write", { value: "w1" }), /web_write/, /session expired/);
    expect(t).toMatch(/not retried/);
    await waitFor(async () => (await agg.serverStatus("web")).state === "ready", 10_000, 50);
    expect(expectOk(await agg.call("web_write", { value: "w2" }))).toBe("1");
    const s = await stats();
    expect(s.writes).toEqual(["w2"]);
    expect(s.calls["write"]).toBe(1);
    expect(s.notFound).toBe(2);
    expect(s.initializations).toBe(3);
  });

  it("re-initializes once when several calls hit the 404 at the same time", async () => {
    await forget();
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => agg.call("web_echo", { message: `c${i}` })));
    expect(results.map((r) => expectOk(r))).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    const s = await stats();
    expect(s.initializations).toBe(4);
    expect(s.sessions).toBe(1);
    expect((await agg.serverStatus("web")).state).toBe("ready");
  });

  it("leaves the aggregator and the HTTP server running", () => {
    expect(alive(agg.pid)).toBe(true);
    expect(server.child.exitCode).toBeNull();
  });
});
