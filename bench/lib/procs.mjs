/** Process, path and machine helpers for the benchmark harness. Linux-first (/proc), degrades elsewhere. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const BENCH_DIR = path.join(ROOT, "bench");
export const CLI = path.join(ROOT, "dist", "cli.js");
export const FAULT_SERVER = path.join(ROOT, "test", "fixtures", "fault-server.mjs");
export const REDIRECT_PRELOAD = path.join(ROOT, "test", "fixtures", "redirect-preload.mjs");

const rootRequire = createRequire(path.join(ROOT, "package.json"));

/**
 * The SDK 1.x the benchmark CLIENT runs on (the measuring instrument, the same for every path): the copy
 * pinned in bench/package.json (installed with the peers), else the root's. Imported by file path, so
 * no other copy (a peer's nested one) can be picked. The pin keeps the instrument fixed while the
 * aggregator itself moves to the v2 packages.
 */
export function sdkDir() {
  for (const base of [BENCH_DIR, ROOT]) {
    const dir = path.join(base, "node_modules", "@modelcontextprotocol", "sdk");
    if (existsSync(path.join(dir, "package.json"))) return dir;
  }
  throw new Error(
    "bench: no @modelcontextprotocol/sdk 1.x for the benchmark client: run `npm install --prefix bench` (bench/package.json pins it)",
  );
}
export async function sdk(sub) {
  return import(pathToFileURL(path.join(sdkDir(), "dist", "esm", sub)).href);
}

/**
 * Imports `spec` (e.g. "@modelcontextprotocol/server/stdio") from `base`/node_modules by its package.json
 * `exports` (import condition), never from another copy on Node's resolution path.
 */
export async function importFrom(base, spec) {
  const parts = spec.split("/");
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const dir = path.join(base, "node_modules", name);
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  let target = pkg.exports?.[`.${spec.slice(name.length)}`];
  while (target && typeof target === "object") target = target.import ?? target.default;
  if (typeof target !== "string") throw new Error(`${spec}: not exported for import by ${dir}`);
  return import(pathToFileURL(path.join(dir, target)).href);
}

/** Absolute path of a package's bin script, resolved from the root's node_modules (or `from`). */
export function resolveBin(pkgName, from = rootRequire) {
  const pkgJsonPath = from.resolve(`${pkgName}/package.json`);
  const pkg = JSON.parse(readFileSync(pkgJsonPath, "utf8"));
  let rel;
  if (typeof pkg.bin === "string") rel = pkg.bin;
  else if (pkg.bin) {
    const entries = Object.entries(pkg.bin);
    const short = pkgName.split("/").pop();
    rel = entries.length === 1 ? entries[0][1] : (pkg.bin[short] ?? entries[0]?.[1]);
  }
  if (!rel) throw new Error(`${pkgName} has no bin`);
  return { bin: path.resolve(path.dirname(pkgJsonPath), rel), version: pkg.version };
}

export const benchRequire = createRequire(path.join(BENCH_DIR, "package.json"));

export const SERVER_PACKAGES = {
  everything: "@modelcontextprotocol/server-everything",
  memory: "@modelcontextprotocol/server-memory",
  github: "@modelcontextprotocol/server-github",
  trello: "@delorenj/mcp-server-trello",
  postman: "@postman/postman-mcp-server",
};

export const DUMMY = {
  GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_bench_dummy_token",
  TRELLO_API_KEY: "trello_bench_dummy_key",
  TRELLO_TOKEN: "trello_bench_dummy_token",
  POSTMAN_API_KEY: "PMAK-bench-dummy",
};

let tmpRoot;
/** A fresh directory under one per-run temp root (removed by the caller at the end). */
export async function tempDir(label) {
  tmpRoot ??= await mkdtemp(path.join(os.tmpdir(), "amcp-bench-"));
  const dir = await mkdtemp(path.join(tmpRoot, `${label}-`));
  return dir;
}
export function tempRoot() {
  return tmpRoot;
}

/**
 * A stdio server entry `{command, args, env}` for one of the real servers. Every child gets its own
 * HOME; github/trello/postman get dummy credentials and the test redirect preload with an empty map,
 * which refuses every non-loopback connection (nothing may leave the machine); postman's API base is a
 * closed loopback port. None of them calls its API at start-up.
 */
export function serverEntry(name, home, extraEnv = {}) {
  mkdirSync(home, { recursive: true });
  const { bin } = resolveBin(SERVER_PACKAGES[name]);
  const env = { HOME: home, ...extraEnv };
  const guard = { NODE_OPTIONS: `--import=${pathToFileURL(REDIRECT_PRELOAD).href}`, AMCP_REDIRECT: "{}" };
  switch (name) {
    case "everything":
      return { command: process.execPath, args: [bin, "stdio"], env };
    case "memory":
      return {
        command: process.execPath,
        args: [bin],
        env: { MEMORY_FILE_PATH: path.join(home, "memory.jsonl"), ...env },
      };
    case "github":
      return {
        command: process.execPath,
        args: [bin],
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: DUMMY.GITHUB_PERSONAL_ACCESS_TOKEN, ...guard, ...env },
      };
    case "trello":
      return {
        command: process.execPath,
        args: [bin],
        env: { TRELLO_API_KEY: DUMMY.TRELLO_API_KEY, TRELLO_TOKEN: DUMMY.TRELLO_TOKEN, ...guard, ...env },
      };
    case "postman":
      return {
        command: process.execPath,
        args: [bin],
        env: {
          POSTMAN_API_KEY: DUMMY.POSTMAN_API_KEY,
          POSTMAN_API_BASE_URL: "http://127.0.0.1:9",
          ...guard,
          ...env,
        },
      };
    default:
      throw new Error(`unknown server ${name}`);
  }
}

/** A fault-server entry listing `extra` extra tools. */
export function faultEntry(home, extra) {
  mkdirSync(home, { recursive: true });
  return { command: process.execPath, args: [FAULT_SERVER], env: { HOME: home, TOOLS_EXTRA: String(extra) } };
}

/** A free TCP port on 127.0.0.1 (racy by nature; good enough on a quiet machine). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** VmHWM / VmRSS of a process in kB, from /proc/<pid>/status (undefined if unavailable). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? Number(m[1]) : undefined;
    };
    return { hwmKb: kb("VmHWM"), rssKb: kb("VmRSS") };
  } catch {
    return undefined;
  }
}

/** All live descendants of a pid (children, grandchildren, ...) from /proc. */
export function descendants(rootPid) {
  if (!existsSync("/proc")) return [];
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // raced with an exit
    }
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`, for each pid still alive (pids this harness started). */
export async function killPids(pids, graceMs = 1500) {
  const live = pids.filter(alive);
  for (const pid of live) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (live.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of live.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

export function machineInfo() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim();
    } catch {
      return undefined;
    }
  };
  let cpuModel;
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim();
  } catch {
    cpuModel = os.cpus()[0]?.model;
  }
  return {
    nproc: Number(sh("nproc", [])) || os.availableParallelism(),
    cpuModel,
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    freeH: sh("free", ["-h"]),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
