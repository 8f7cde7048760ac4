#!/usr/bin/env node
/**
 * Second build step (after `tsc`): bundles the CLI and everything it loads (our modules and the
 * dependencies) into a few files, so start-up resolves, reads and compiles ~20 chunks instead of ~400
 * modules (bench/results/history.md, "Cold start"). The modules the CLI loads on demand (serve, the HTTP
 * front, the commands) stay separate chunks, loaded when they are today.
 *
 *   dist/cli.js            the bin: a stub that imports ./chunks/cli.js
 *   dist/chunks/*.js       the bundle (code split at the CLI's dynamic imports)
 *   dist/cli-modules.js    tsc's entry, unbundled (for CPU profiles that name each module)
 *
 *   node scripts/bundle.mjs [DIST]   (default dist/; run by `npm run build`)
 *
 * The rest of dist/ (tsc's output) is left as it is: `main`/`exports` (dist/index.js) and the tests that
 * import compiled modules use it. Our code finds files next to itself through `import.meta.url`
 * (package.json, the install root); in a chunk that URL is rewritten to the module's original place in
 * dist/ so the same relative paths still hold.
 */
import { build } from "esbuild";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Optional argument: another tsc output folder inside the repository (for experiments); default dist/.
const DIST = path.resolve(ROOT, process.argv[2] ?? "dist");
const OUT = path.join(DIST, "chunks");

/** `import.meta.url` of a compiled module of ours → the URL it had at its place in dist/. */
const keepModuleUrls = {
  name: "keep-module-urls",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const file = args.path;
      if (!file.startsWith(DIST + path.sep) || file.startsWith(OUT + path.sep)) return undefined;
      const source = readFileSync(file, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const rel = path.relative(OUT, file).split(path.sep).join("/");
      const url = `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
      return {
        contents: source.replaceAll("import.meta.url", url),
        loader: "js",
        resolveDir: path.dirname(file),
      };
    });
  },
};

const bin = path.join(DIST, "cli.js");
const modules = path.join(DIST, "cli-modules.js");
const STUB = '#!/usr/bin/env node\nimport "./chunks/cli.js";\n';
// tsc's entry is kept as dist/cli-modules.js (same behaviour, one file per module: CPU profiles of it name
// our modules instead of chunks) and is what gets bundled; a second run without tsc reuses it.
const compiled = readFileSync(bin, "utf8");
if (compiled !== STUB) writeFileSync(modules, compiled);

const result = await build({
  entryPoints: { cli: modules },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  // Compact, ASCII-only chunks: V8 keeps every loaded module's source in the heap (for lazy compilation and
  // Function.prototype.toString), and one non-ASCII character, even in a comment, makes it keep the whole
  // chunk as a two-byte string. Names are not minified, so stack traces keep function names; the linked
  // source maps give the original lines (`node --enable-source-maps`, docs/troubleshooting.md).
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  // Which module went into which chunk (dist/bundle-meta.json): what the build test checks.
  metafile: true,
  absWorkingDir: ROOT,
  chunkNames: "[name]-[hash]",
  logLevel: "warning",
  // CommonJS dependencies (pino, opossum, ajv…) call require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __amcpCreateRequire } from "node:module"; const require = __amcpCreateRequire(import.meta.url);',
  },
  plugins: [keepModuleUrls],
  // jsonc-parser's "main" is a UMD build whose factory require()s its own files at run time, which a
  // bundle cannot follow ("Cannot find module './impl/format'"): bundle its ES module build instead.
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  write: false,
});

// Another process may be starting from dist/ while this runs (a test, a benchmark, a running aggregator
// loading a chunk on demand): the content-named chunks are written first, the entry (chunks/cli.js) last
// and by rename, and the previous build's chunks are removed only once they are an hour old.
mkdirSync(OUT, { recursive: true });
const written = new Set();
const outputs = [...result.outputFiles].sort((a, b) => Number(isEntry(a.path)) - Number(isEntry(b.path)));
for (const file of outputs) {
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, file.path);
  written.add(path.basename(file.path));
}
const stale = Date.now() - 60 * 60 * 1000;
for (const name of readdirSync(OUT)) {
  const file = path.join(OUT, name);
  if (!written.has(name) && statSync(file).mtimeMs < stale) rmSync(file, { force: true });
}

writeFileSync(path.join(DIST, "bundle-meta.json"), JSON.stringify(result.metafile));

function isEntry(file) {
  return /^cli\.js(\.map)?$/.test(path.basename(file));
}

// The bin keeps its path (package.json "bin", Claude Desktop configs, `node dist/cli.js`).
writeFileSync(bin, STUB);
chmodSync(bin, 0o755);
process.stdout.write(`bundled ${path.relative(ROOT, bin)} (chunks in ${path.relative(ROOT, OUT)}/)\n`);
