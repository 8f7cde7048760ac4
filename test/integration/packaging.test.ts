/**
 * Installing the package as a newcomer does, hermetically (see helpers/packed.ts): the packed tarball
 * installs with no TTY and no prompt (`--omit=dev`, install scripts on), its bin runs with stdin from
 * /dev/null, the library entry imports and starts an aggregator; and a clone installs with
 * `npm ci --omit=dev` (prepare without TypeScript).
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifest, npm, packInto, productionLockEntries, writeConsumerProject } from "../helpers/packed.js";
import { ROOT, tempDir, type TempDir } from "../helpers/aggregator.js";

describe("the packed package", () => {
  let tmp: TempDir;
  let project: string;
  let files: string[];
  beforeAll(() => {
    return (async () => {
      tmp = await tempDir();
      project = path.join(tmp.dir, "consumer");
      mkdirSync(project);
      const packed = packInto(project);
      files = packed.files;
      writeConsumerProject(project, packed.tarball);
    })();
  }, 60_000);
  afterAll(() => tmp.cleanup());

  it("ships dist/, the bin, the typed library entry, the starter config, LICENSE and README", () => {
    const pkg = manifest();
    for (const f of [
      "package.json",
      "LICENSE",
      "README.md",
      "servers.config.json",
      "dist/cli.js",
      "dist/chunks/cli.js",
      "dist/index.js",
      "dist/index.d.ts",
    ])
      expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith("test/") || f.startsWith("src/"))).toEqual([]);
    // Every compiled module has its source: nothing left in dist/ by a module deleted from src/.
    const bundled = new Set(["dist/cli.js", "dist/cli-modules.js"]);
    const orphans = files.filter(
      (f) =>
        /^dist\/.*\.js$/.test(f) &&
        !f.startsWith("dist/chunks/") &&
        !bundled.has(f) &&
        !existsSync(path.join(ROOT, "src", f.slice("dist/".length).replace(/\.js$/, ".ts"))),
    );
    expect(orphans).toEqual([]);
    // What package.json names exists in the tarball.
    expect(files).toContain(pkg["main"]);
    expect(files).toContain(pkg["types"]);
    expect(files).toContain(pkg.bin["autonomous-mcp"]);
    const exported = (pkg["exports"] as Record<string, Record<string, string>>)["."] ?? {};
    for (const target of Object.values(exported)) expect(files).toContain(target.replace(/^\.\//, ""));
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
    expect(pkg["keywords"]).toEqual(expect.arrayContaining(["mcp", "model-context-protocol", "aggregator"]));
    for (const key of ["repository", "homepage", "bugs"]) expect(pkg[key], key).toBeDefined();
    // No dependency whose install script can prompt (Postman's preinstall runs `npx only-allow pnpm`).
    expect(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })).not.toContain(
      "@postman/postman-mcp-server",
    );
    const lock = productionLockEntries();
    const withScripts = Object.keys(lock).filter((k) => lock[k]?.["hasInstallScript"] === true);
    expect(withScripts).toEqual([]);
  });

  it("installs with --omit=dev and install scripts on, with no TTY and no npm_config_yes", () => {
    const res = npm(["ci", "--offline", "--omit=dev"], project);
    expect(res.error, "npm ci finished").toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    expect(existsSync(path.join(project, "node_modules", ".bin", "autonomous-mcp"))).toBe(true);
    expect(existsSync(path.join(project, "node_modules", "@postman"))).toBe(false);
  }, 200_000);

  it("runs its bin with stdin from /dev/null: --version, init, validate, tools from any folder", () => {
    const bin = path.join(project, "node_modules", ".bin", "autonomous-mcp");
    const home = path.join(tmp.dir, "home");
    mkdirSync(home);
    const env = { PATH: `${path.dirname(process.execPath)}:${process.env["PATH"] ?? ""}`, HOME: home };
    const run = (args: string[]) =>
      spawnSync(bin, args, {
        cwd: home,
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
      });
    const version = run(["--version"]);
    expect(version.stdout).toBe(`${manifest().version}\n`);
    expect(run(["init"]).status).toBe(0);
    const validate = run(["validate"]);
    expect(validate.stderr).toContain(
      `${path.join(home, ".config", "autonomous-mcp", "servers.config.json")}: valid (5 servers)`,
    );
    // The starter's memory server (`npx -y @modelcontextprotocol/server-memory`) runs from the install.
    const tools = run(["tools"]);
    expect(tools.status, tools.stderr).toBe(0);
    expect(tools.stdout).toMatch(/memory_read_graph\s+memory\s+read_graph/);
    expect(tools.stderr).toMatch(/github: skipped \(set GITHUB_PERSONAL_ACCESS_TOKEN\)/);
  }, 90_000);

  it("imports as a library: named exports, startAggregator serves over HTTP and stops", () => {
    const config = path.join(tmp.dir, "library.json");
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          memory: {
            command: "npx",
            args: ["-y", "@modelcontextprotocol/server-memory"],
            env: { MEMORY_FILE_PATH: path.join(tmp.dir, "lib-memory", "memory.jsonl") },
          },
        },
      }),
    );
    const script = path.join(project, "use.mjs");
    writeFileSync(
      script,
      `import * as lib from "autonomous-mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
const exported = Object.keys(lib).sort();
const loaded = await lib.loadConfig(process.argv[2]);
const running = await lib.startAggregator({ config: loaded, transport: "http", port: 0, onMessage: () => {} , logger: undefined });
const client = new Client({ name: "packed-test", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
const { tools } = await client.listTools();
await client.close();
await running.stop();
await running.ended;
let notFound;
try { await lib.loadConfig(process.argv[2] + ".missing"); } catch (e) { notFound = lib.isAggregatorError(e, "CONFIG_NOT_FOUND"); }
console.log(JSON.stringify({ exported, version: lib.VERSION, url: running.url, tools: tools.map((t) => t.name), notFound }));
`,
    );
    const res = spawnSync(process.execPath, [script, config], {
      cwd: project,
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir, AUTONOMOUS_MCP_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as {
      exported: string[];
      version: string;
      url: string;
      tools: string[];
      notFound: boolean;
    };
    expect(out.exported).toEqual([
      "AggregatorError",
      "VERSION",
      "isAggregatorError",
      "loadConfig",
      "locateConfig",
      "parseConfig",
      "resolveConfigPath",
      "startAggregator",
      "userConfigPath",
    ]);
    expect(out.version).toBe(manifest().version);
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(out.tools).toContain("memory_read_graph");
    expect(out.notFound).toBe(true);
    // The type declarations the "types" field names are there for TypeScript users.
    const dts = readFileSync(
      path.join(project, "node_modules", "autonomous-mcp", "dist", "index.d.ts"),
      "utf8",
    );
    expect(dts).toMatch(
      /export declare function startAggregator\(options: StartAggregatorOptions\): Promise<RunningAggregator>/,
    );
  }, 90_000);
});

/** `npm start --silent -- <args>` in `cwd`, without the npm_* variables of an enclosing `npm test`. */
function npmStart(args: string[], cwd: string): SpawnSyncReturns<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return spawnSync("npm", ["start", "--silent", "--", ...args], {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
}

describe("a clone installed without dev dependencies", () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(() => tmp.cleanup());

  it("`npm ci --omit=dev` succeeds: prepare skips the build when TypeScript is absent and says when dist/ is missing", () => {
    const clone = path.join(tmp.dir, "clone");
    mkdirSync(clone);
    cpSync(path.join(ROOT, "package.json"), path.join(clone, "package.json"));
    cpSync(path.join(ROOT, "scripts"), path.join(clone, "scripts"), { recursive: true });
    cpSync(path.join(ROOT, "servers.config.json"), path.join(clone, "servers.config.json"));
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    // Same lockfile: the root entry as it is, dev entries kept (npm ci checks the whole tree), URLs filled in.
    const prod = productionLockEntries();
    const packages = Object.fromEntries(Object.entries(lock.packages).map(([k, v]) => [k, prod[k] ?? v]));
    writeFileSync(path.join(clone, "package-lock.json"), JSON.stringify({ ...lock, packages }, null, 2));
    // A fresh clone has no dist/: prepare says so, with the fix.
    const res = npm(["ci", "--offline", "--omit=dev"], clone);
    expect(res.error, "npm ci finished").toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    const said = `${res.stdout}${res.stderr}`;
    expect(said).toMatch(/prepare: typescript and esbuild not installed/);
    expect(said).toMatch(/dist\/ is missing: run a full `npm install` \(with dev dependencies\) to build it/);
    expect(said).not.toMatch(/dist\/ already here is used/);
    expect(existsSync(path.join(clone, "node_modules", "typescript"))).toBe(false);
    // `npm start` stops before Node's MODULE_NOT_FOUND, with the same hint.
    const start = npmStart(["--version"], clone);
    expect(start.status).not.toBe(0);
    expect(`${start.stdout}${start.stderr}`).toMatch(/dist\/ is missing: run a full `npm install`/);
    expect(`${start.stdout}${start.stderr}`).not.toMatch(/MODULE_NOT_FOUND/);
    // With a dist/ (built elsewhere, or kept from before), prepare uses it and `npm start` runs it.
    cpSync(path.join(ROOT, "dist"), path.join(clone, "dist"), { recursive: true });
    const prepare = spawnSync(process.execPath, [path.join(clone, "scripts", "prepare.mjs")], {
      cwd: clone,
      encoding: "utf8",
    });
    expect(prepare.status).toBe(0);
    expect(prepare.stderr).toMatch(/not building; the dist\/ already here is used as it is/);
    const started = npmStart(["--version"], clone);
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout).toBe(`${manifest().version}\n`);
  }, 200_000);
});
