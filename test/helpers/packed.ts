/**
 * The package as a user gets it: `npm pack`, then an install of the tarball into an empty project.
 * Hermetic: no registry is reachable in tests, so the install is `npm ci --offline` from the npm cache,
 * with a lockfile built from ours (the same versions and integrity hashes, tarball URLs filled in).
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./aggregator.js";

interface LockEntry {
  version?: string;
  resolved?: string;
  name?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export const manifest = (): Manifest =>
  JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Manifest;

/** Our lockfile's entries without `dev` ones (what `--omit=dev` installs), each with its registry URL. */
export function productionLockEntries(): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lock;
  const out: Record<string, LockEntry> = {};
  for (const [key, value] of Object.entries(lock.packages)) {
    if (!key.startsWith("node_modules/") || value.dev) continue;
    const entry = { ...value };
    if (entry.devOptional) {
      delete entry.devOptional;
      entry.optional = true;
    }
    const name = value.name ?? key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    if (!entry.resolved && !entry.link && entry.version) {
      entry.resolved = `https://registry.npmjs.org/${name}/-/${name.split("/").pop() ?? name}-${entry.version}.tgz`;
    }
    out[key] = entry;
  }
  return out;
}

/** npm with a clean environment: none of the npm_* variables of an enclosing `npm test`, no TTY. */
export function npm(args: string[], cwd: string, timeoutMs = 180_000): SpawnSyncReturns<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return spawnSync("npm", [...args, "--no-audit", "--no-fund", "--no-update-notifier"], {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
  });
}

/** `npm pack` of the repository (dist/ as built) into `dir`; the tarball's file name. */
export function packInto(dir: string): { tarball: string; files: string[] } {
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error("npm pack printed nothing");
  return { tarball: info.filename, files: info.files.map((f) => f.path) };
}

/** Writes package.json + package-lock.json of a project that depends on the tarball in `dir`. */
export function writeConsumerProject(dir: string, tarball: string): void {
  const pkg = manifest();
  const integrity = `sha512-${createHash("sha512")
    .update(readFileSync(path.join(dir, tarball)))
    .digest("base64")}`;
  const root = { name: "consumer", version: "1.0.0", dependencies: { [pkg.name]: `file:${tarball}` } };
  const packages: Record<string, unknown> = {
    "": root,
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:${tarball}`,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      ...(pkg.optionalDependencies ? { optionalDependencies: pkg.optionalDependencies } : {}),
      bin: pkg.bin,
      engines: pkg.engines,
    },
    ...productionLockEntries(),
  };
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(root, null, 2));
  writeFileSync(
    path.join(dir, "package-lock.json"),
    JSON.stringify(
      { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages },
      null,
      2,
    ),
  );
}
