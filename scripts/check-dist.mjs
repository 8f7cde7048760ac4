#!/usr/bin/env node
/**
 * `prestart`: `npm start` runs `node dist/cli.js`, which a clone installed without dev dependencies
 * (`npm ci --omit=dev`) does not have. Say so, with the fix, instead of Node's MODULE_NOT_FOUND.
 *
 *   node scripts/check-dist.mjs
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(path.join(root, "dist", "cli.js"))) {
  process.stderr.write(
    "autonomous-mcp: dist/ is missing: run a full `npm install` (with dev dependencies) to build it, or `npm run build`\n",
  );
  process.exit(1);
}
