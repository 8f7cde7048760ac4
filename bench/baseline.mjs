#!/usr/bin/env node
/**
 * A built copy of an earlier commit of autonomous-mcp, for measuring it in the same benchmark run as the
 * working tree's build (`bench/run.mjs --baseline-ref=REF`, `bench/quick.mjs --baseline-ref=REF`).
 *
 *   node bench/baseline.mjs [REF]      build REF (default pre-v2) if it is not cached; print its dist/cli.js
 *
 * Built on demand into bench/.cache/<commit>/ (gitignored), once per commit:
 *   1. `git archive <commit>` unpacked into a temporary folder under bench/.cache/ (nothing in the repository's
 *      own worktrees or index is touched);
 *   2. node_modules: a hard-linked copy of the repository's own when every package the commit's
 *      package-lock.json names is installed there at the same version (no download, no disk), else
 *      `npm ci --ignore-scripts`;
 *   3. `npm run build` there;
 *   4. everything but dist/, node_modules/ and package.json removed (so no test, lint or typecheck of this
 *      repository ever sees a second source tree), and the folder renamed to bench/.cache/<commit>/.
 * The build's dist/cli.js is run like ours: `node <cache>/dist/cli.js serve --config FILE`.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
export const CACHE_DIR = path.join(ROOT, "bench", ".cache");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})\n${out}`);
  }
  return r.stdout;
}

/** The full commit id of REF, or an error naming the ref. */
export function resolveRef(ref) {
  const r = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new Error(
      `baseline: "${ref}" is not a commit of this repository (a tag such as pre-v2 needs \`git fetch --tags\` in a fresh clone)`,
    );
  return r.stdout.trim();
}

/**
 * The packages of `lockFile` that the repository's node_modules lacks or holds at another version
 * (optional packages that are not installed are skipped); [] = the current node_modules serves it.
 */
export function missingPackages(lockFile, nodeModulesRoot = ROOT) {
  const lock = JSON.parse(readFileSync(lockFile, "utf8"));
  const missing = [];
  for (const [key, meta] of Object.entries(lock.packages ?? {})) {
    if (!key.startsWith("node_modules/") || meta.link) continue;
    const pkgJson = path.join(nodeModulesRoot, key, "package.json");
    let version;
    try {
      version = JSON.parse(readFileSync(pkgJson, "utf8")).version;
    } catch {
      if (meta.optional) continue;
    }
    if (version !== meta.version) missing.push(`${key.slice("node_modules/".length)}@${meta.version}`);
  }
  return missing;
}

/**
 * Path of REF's built dist/cli.js, building it first when it is not cached. `log` gets one line per step.
 * Throws (with the failing step's output) when REF cannot be built.
 */
export function baselineCli(ref = "pre-v2", log = () => undefined) {
  const commit = resolveRef(ref);
  const dir = path.join(CACHE_DIR, commit);
  const cli = path.join(dir, "dist", "cli.js");
  const stamp = path.join(dir, "baseline.json");
  if (existsSync(cli) && existsSync(stamp)) return { cli, commit, dir, built: false };

  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = mkdtempSync(path.join(CACHE_DIR, `tmp-${commit.slice(0, 12)}-`));
  try {
    log(`baseline ${ref} (${commit.slice(0, 12)}): unpacking the commit into ${path.relative(ROOT, tmp)}`);
    const tar = run("git", ["archive", "--format=tar", commit], { cwd: ROOT, encoding: "buffer" });
    run("tar", ["-x", "-C", tmp], { input: tar });

    const lockFile = path.join(tmp, "package-lock.json");
    const missing = existsSync(lockFile) ? missingPackages(lockFile) : ["(no package-lock.json)"];
    let modules;
    if (missing.length === 0) {
      log("baseline: its package-lock.json is served by this repository's node_modules: hard-linking a copy");
      run("cp", ["-al", path.join(ROOT, "node_modules"), path.join(tmp, "node_modules")]);
      modules = "hard-linked copy of the repository's node_modules";
    } else {
      log(
        `baseline: ${missing.length} of its packages differ from this repository's node_modules (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}): npm ci --ignore-scripts`,
      );
      run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: tmp,
        env: { ...process.env, npm_config_yes: "true" },
      });
      modules = "npm ci --ignore-scripts";
    }

    log("baseline: npm run build");
    run("npm", ["run", "build"], { cwd: tmp });
    if (!existsSync(path.join(tmp, "dist", "cli.js")))
      throw new Error("baseline: the build wrote no dist/cli.js");

    const keep = new Set(["dist", "node_modules", "package.json"]);
    for (const entry of readdirSync(tmp))
      if (!keep.has(entry)) rmSync(path.join(tmp, entry), { recursive: true, force: true });
    writeFileSync(
      path.join(tmp, "baseline.json"),
      `${JSON.stringify({ ref, commit, builtAt: new Date().toISOString(), nodeModules: modules }, null, 2)}\n`,
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    log(`baseline ${ref}: built into ${path.relative(ROOT, dir)}`);
    return { cli, commit, dir, built: true };
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { cli } = baselineCli(process.argv[2] ?? "pre-v2", (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${cli}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
