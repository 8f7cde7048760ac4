import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, REDIS_SERVER, startRedis, type TestRedis } from "../helpers/redis.js";

/**
 * The three-replica rig of the cluster tests: a real redis-server, three replicas of the built CLI
 * (`node dist/cli.js serve --transport http --redis …`), and nginx balancing them round-robin with no
 * affinity, all on free loopback ports in one temp dir. `stop()` (afterAll) ends every process.
 *
 *   const rig = await startCluster({ servers: { fault: {...} } });
 *   rig.url            // http://127.0.0.1:<nginx>/mcp
 *   rig.replicas[i].url  // one replica directly
 *   await rig.kill(1)  // SIGKILL one replica (its servers go with it)
 */

export const NGINX = process.env["NGINX"] ?? "/usr/sbin/nginx";
export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** Why the cluster tests cannot run here (undefined: they can). In CI (CI=true) a missing binary is a failure. */
export function clusterUnavailableReason(): string | undefined {
  const missing = [REDIS_SERVER, NGINX].filter((bin) => !existsSync(bin));
  if (missing.length > 0)
    return `${missing.join(" and ")} not installed (apt-get install redis-server nginx-light; .ci/run does)`;
  if (!existsSync(CLI)) return "dist/cli.js is missing: run npm run build first";
  return undefined;
}

export interface Replica {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the replica wrote on stderr (its JSON log lines). */
  readonly log: () => string;
  readonly alive: () => boolean;
}

export interface ClusterRig {
  readonly dir: string;
  readonly redis: TestRedis;
  /** Through nginx. */
  readonly url: string;
  readonly replicas: Replica[];
  /** SIGKILLs replica `i` and waits for it to exit. */
  kill(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterRigOptions {
  /** `mcpServers` of the shared config (every replica reads the same file); a function gets the rig's dir. */
  readonly servers: Record<string, unknown> | ((dir: string) => Record<string, unknown>);
  /** More top-level config (e.g. `cluster` settings); `cluster.replicaId` is set per replica by the rig. */
  readonly config?: Record<string, unknown>;
  readonly replicas?: number;
  readonly env?: Record<string, string>;
}

export async function startCluster(options: ClusterRigOptions): Promise<ClusterRig> {
  const dir = await mkdtemp(path.join(tmpdir(), "amcp-cluster-"));
  const started: { replicas: Replica[]; nginx?: ChildProcess; redis?: TestRedis } = { replicas: [] };
  const stop = async (): Promise<void> => {
    await Promise.all(started.replicas.map((r) => ended(r.child, "SIGTERM")));
    if (started.nginx) await ended(started.nginx, "SIGTERM");
    await started.redis?.cleanup();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const redis = (started.redis = await startRedis());
    const count = options.replicas ?? 3;
    const servers = typeof options.servers === "function" ? options.servers(dir) : options.servers;
    const ports = await Promise.all(Array.from({ length: count + 1 }, () => freePort()));
    const nginxPort = ports[count] as number;
    for (let i = 0; i < count; i++) {
      const config = path.join(dir, `replica-${i}.json`);
      await writeFile(
        config,
        JSON.stringify({
          ...options.config,
          cluster: { ...((options.config?.["cluster"] as object) ?? {}), replicaId: `replica-${i}` },
          mcpServers: servers,
        }),
      );
      started.replicas.push(await startReplica(i, ports[i] as number, config, redis.url, dir, options.env));
    }
    started.nginx = await startNginx(dir, nginxPort, ports.slice(0, count));
    const replicas = started.replicas;
    return {
      dir,
      redis,
      url: `http://127.0.0.1:${nginxPort}/mcp`,
      replicas,
      kill: async (i) => {
        const r = replicas[i];
        if (r) await ended(r.child, "SIGKILL");
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startReplica(
  index: number,
  port: number,
  config: string,
  redisUrl: string,
  dir: string,
  env: Record<string, string> = {},
): Promise<Replica> {
  const home = path.join(dir, `home-${index}`);
  await mkdir(home, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "-c",
      config,
      "--transport",
      "http",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--redis",
      redisUrl,
    ],
    {
      env: { PATH: process.env["PATH"] ?? "", HOME: home, AUTONOMOUS_MCP_LOG_FORMAT: "json", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  let alive = true;
  child.once("exit", () => (alive = false));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      stderr += chunk.toString();
      if (stderr.includes("listening on http://")) resolve();
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`replica ${index} exited (${code}) before listening:\n${stderr.slice(-3000)}`)),
    );
  });
  child.stderr?.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  return {
    index,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    child,
    log: () => stderr,
    alive: () => alive,
  };
}

/** nginx round-robin over the replicas, no affinity; a replica that refuses a connection is skipped for 2 s. */
async function startNginx(dir: string, port: number, upstreams: readonly number[]): Promise<ChildProcess> {
  const root = path.join(dir, "nginx");
  await mkdir(root, { recursive: true });
  const temp = (name: string): string => `${name}_temp_path ${path.join(root, name)};`;
  const conf = `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${path.join(root, "nginx.pid")};
error_log ${path.join(root, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")} ${temp("uwsgi")} ${temp("scgi")}
  upstream replicas {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join("\n")}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
  const file = path.join(root, "nginx.conf");
  await writeFile(file, conf);
  const child = spawn(
    NGINX,
    ["-e", path.join(root, "error.log"), "-p", root, "-c", file, "-g", "daemon off;"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => void (stderr += c.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`nginx did not start (exit ${child.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Sends `signal` (SIGKILL after 5 s) and resolves when the process has exited. */
function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => (clearTimeout(hard), resolve()));
    child.kill(signal);
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
