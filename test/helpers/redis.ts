import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A real redis-server (Debian's /usr/bin/redis-server) on a free loopback port, in a temp dir, no
 * persistence. For cluster tests (and the replicas/deploy harnesses):
 *
 *   const redis = await startRedis();      // redis.url = "redis://127.0.0.1:<port>"
 *   await redis.stop();  await redis.start(); // the same port again: a Redis outage and its return
 *   await redis.cleanup();                 // in afterAll: stops it and removes the temp dir
 */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Starts it (again) on the same port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s); resolves when the process has exited. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  cleanup(): Promise<void>;
}

export const REDIS_SERVER = process.env["REDIS_SERVER"] ?? "/usr/bin/redis-server";

/** A port that was free a moment ago (the OS's choice for port 0 on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--protected-mode",
      "yes",
      "--loglevel",
      "notice",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        child.stderr?.resume();
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.on("exit", onExit);
    child.on("error", reject);
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), "amcp-redis-"));
  let child: ChildProcess | undefined;
  let port = 0;
  // A probed port can be taken before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir);
      break;
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    start: async () => {
      if (child && child.exitCode === null) return;
      child = await launch(port, dir);
    },
    stop,
    cleanup: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
