#!/usr/bin/env node
/**
 * First build step (`prebuild`): removes dist/ so that the build starts from nothing. tsc only writes and
 * overwrites; a module deleted from src/ would otherwise stay in dist/, be importable by the tests and be
 * packed into the tarball (`files` ships dist/).
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
rmSync(dist, { recursive: true, force: true });
