/**
 * bench-only cluster harness (bench/cluster.mjs): a redis-server, N replicas of the built CLI in cluster
 * mode (`serve --redis URL`), and nginx round robin in front of them with deploy/nginx.conf (upstream list
 * and port rewritten), all on free loopback ports in one temp dir. Debian's /usr/bin/redis-server and
 * /usr/sbin/nginx (installed by .ci/run). The e2e tests have their own harness (test/cluster/, the
 * `replicas` work); this one is plain JavaScript so that `node bench/cluster.mjs` runs without a build of
 * the tests, and it measures nothing by itself.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI, ROOT, descendants, freePort, killPids } from "./procs.mjs";

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";
export const REDIS_CLI = process.env.REDIS_CLI ?? "/usr/bin/redis-cli";
export const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

/** Spawns and resolves once the output matches `ready`; rejects on exit or timeout (with the output). */
function spawnReady(command, args, { env, ready, timeoutMs = 60_000, label }) {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label}: not ready after ${timeoutMs} ms\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onData = (chunk) => {
      out += chunk.toString();
      if (out.length > 64_000) out = out.slice(-16_000);
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve({ child, match: m, tail: () => out.slice(-4000) });
      }
    };
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited (${code ?? signal}) before it was ready\n${out.slice(-4000)}`));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
}

async function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** redis-server on a free loopback port, no persistence. */
export async function startRedis(dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const { child } = await spawnReady(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { ready: /Ready to accept connections/, label: "redis-server", timeoutMs: 20_000 },
  );
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** `INFO <section>` as key → value (numbers where numeric). One round trip of its own. */
    info(section) {
      const text = execFileSync(REDIS_CLI, ["-p", String(port), "info", section], { encoding: "utf8" });
      const out = {};
      for (const line of text.split(/\r?\n/)) {
        const m = /^([\w]+):(.*)$/.exec(line);
        if (m) out[m[1]] = /^-?\d+(\.\d+)?$/.test(m[2]) ? Number(m[2]) : m[2];
      }
      return out;
    },
    stop: () => stopChild(child),
  };
}

/**
 * One replica: `node dist/cli.js serve --transport http --host 127.0.0.1 --port P [--redis URL] --config F`
 * (no --redis: the embedded single process); `cli` another entry (e.g. dist/cli-modules.js, tsc's
 * unbundled output). Its MCP URL, its /metrics, and kill().
 */
export async function startReplica({ configFile, home, redisUrl, label = "replica", env = {}, cli = CLI }) {
  const port = await freePort();
  const args = [cli, "serve", "--config", configFile, "--transport", "http", "--host", "127.0.0.1"];
  args.push("--port", String(port));
  if (redisUrl) args.push("--redis", redisUrl);
  const { child, tail } = await spawnReady(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", HOME: home, AUTONOMOUS_MCP_LOG_LEVEL: "warn", ...env },
    ready: /listening on http:\/\/\S+\/mcp/,
    label,
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    label,
    port,
    pid: child.pid,
    child,
    url: `${base}/mcp`,
    tail,
    async metrics() {
      const res = await fetch(`${base}/metrics`);
      return res.text();
    },
    /** SIGKILL: the replica dies as in a crash (no drain). Its downstream servers are stopped too. */
    async kill() {
      const tree = descendants(child.pid);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      await killPids(tree, 500);
    },
    async stop() {
      const tree = descendants(child.pid);
      await stopChild(child);
      await killPids(tree, 1_000);
    },
  };
}

/** The value of one Prometheus series in an exposition (0 when absent). */
export function metric(text, series) {
  for (const line of text.split("\n"))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

/** deploy/nginx.conf with its upstream servers replaced by `ports` (loopback) and listening on `listen`. */
export function nginxConf(ports, listen, prefix) {
  let conf = readFileSync(path.join(ROOT, "deploy", "nginx.conf"), "utf8");
  const servers = [...conf.matchAll(/^(\s*)server\s+replica-\d+:3000(.*);$/gm)];
  if (servers.length === 0) throw new Error("deploy/nginx.conf: no `server replica-N:3000` lines");
  const [indent, options] = [servers[0][1], servers[0][2]];
  const lines = ports.map((p) => `${indent}server 127.0.0.1:${p}${options};`).join("\n");
  conf = conf.replace(servers.map((m) => m[0]).join("\n"), lines);
  if (!/^\s*listen\s+8080;/m.test(conf)) throw new Error("deploy/nginx.conf does not listen on 8080");
  conf = conf.replace(/^(\s*)listen\s+8080;/m, `$1listen 127.0.0.1:${listen};`);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${path.join(prefix, `${t}_temp`)};`)
    .join("\n");
  return conf.replace(/^http \{$/m, `http {\n${temps}\n  access_log off;`);
}

/** nginx (deploy/nginx.conf) in front of `ports`. */
export async function startNginx(ports, dir) {
  mkdirSync(dir, { recursive: true });
  const listen = await freePort();
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(conf, nginxConf(ports, listen, dir));
  const child = spawn(
    NGINX,
    ["-p", dir, "-c", conf, "-e", "stderr", "-g", `pid ${path.join(dir, "nginx.pid")}; daemon off;`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (c) => (err = (err + c.toString()).slice(-8_000)));
  const base = `http://127.0.0.1:${listen}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${err}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx: no answer on ${base}/healthz: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `${base}/mcp`, base, log: () => err, stop: () => stopChild(child, "SIGQUIT") };
}

/** Redis + `replicas` cluster-mode replicas + nginx. */
export async function startCluster({ replicas, configFile, home, dir, cli = CLI }) {
  const redis = await startRedis(path.join(dir, "redis"));
  const started = [];
  try {
    for (let i = 0; i < replicas; i++)
      started.push(
        await startReplica({ configFile, home, redisUrl: redis.url, label: `replica-${i + 1}`, cli }),
      );
    const nginx = await startNginx(
      started.map((r) => r.port),
      path.join(dir, "nginx"),
    );
    return {
      redis,
      replicas: started,
      nginx,
      url: nginx.url,
      async stop() {
        await nginx.stop();
        await Promise.all(started.map((r) => r.stop()));
        await redis.stop();
      },
    };
  } catch (error) {
    await Promise.all(started.map((r) => r.stop()));
    await redis.stop();
    throw error;
  }
}
