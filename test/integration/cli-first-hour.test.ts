/**
 * A newcomer's first hour with the built CLI (dist/cli.js): refusals that say why (exit 2), `--port`
 * implying HTTP, `npm start -- doctor`, `init` and the config lookup, quiet reports, colours and log
 * formats on a pipe and on a terminal.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { CLI, ROOT, memoryEntry, tempDir, writeConfig, type TempDir } from "../helpers/aggregator.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI with stdin from /dev/null and only the environment given (plus PATH). */
function run(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const JSON_LOG = /^\{"level":/m;

describe("the built CLI guides a newcomer", () => {
  let tmp: TempDir;
  let home: string;
  let config: string;
  beforeAll(async () => {
    tmp = await tempDir();
    home = tmp.dir;
    config = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          memory: memoryEntry(tmp.dir),
          missing: { command: "definitely-not-a-command-xyz" },
        },
      },
      "first-hour.json",
    );
  });
  afterAll(() => tmp.cleanup());

  it.each<[string[], RegExp]>([
    [["--port", "0x10"], /--port must be a whole number from 0 to 65535, got "0x10"/],
    [["--port", "3000abc"], /--port must be a whole number from 0 to 65535, got "3000abc"/],
    [["--port", "70000"], /--port must be a whole number from 0 to 65535, got "70000"/],
    [["--transport", "stdio", "--port", "3000"], /--port only applies to --transport http, not stdio/],
    [["doctr"], /unknown command "doctr" \(did you mean doctor\?\)/],
    [["doctor", "--jsn"], /unknown option "--jsn" \(did you mean --json\?\)/],
    [["doctor", "now"], /unexpected argument "now" \(doctor takes no arguments\)/],
    [["serve", "--json"], /--json does not apply to serve \(it is an option of tools, doctor\)/],
  ])("refuses %j with one line on stderr, nothing on stdout, exit 2", async (argv, reason) => {
    const res = await run(argv, { HOME: home });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(reason);
    expect(res.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("prints each command's help on stdout with exit 0", async () => {
    const res = await run(["doctor", "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: autonomous-mcp doctor \[options\]/);
    expect(res.stdout).toContain("--verbose");
    expect(res.stderr).toBe("");
  });

  it("serves HTTP for --port without --transport (it used to serve stdio silently)", async () => {
    const child = spawn(process.execPath, [CLI, "--config", config, "--port", "0"], {
      env: { PATH: process.env["PATH"] ?? "", HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (c: Buffer) => {
          err += c.toString("utf8");
          const m = /listening on (http:\/\/[^\s;]+)/.exec(err);
          if (m?.[1]) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      expect(err).not.toContain("waiting for an MCP client on stdin");
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("accepts the Host names given with --allowed-host (http.allowedHosts), and only those", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "--config", config, "--port", "0", "--allowed-host", "mcp.example.test"],
      { env: { PATH: process.env["PATH"] ?? "", HOME: home }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (c: Buffer) => {
          err += c.toString("utf8");
          const m = /listening on (http:\/\/[^\s;]+)/.exec(err);
          if (m?.[1]) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const status = (host: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const u = new URL(url);
          // /readyz checks Host (/healthz answers any Host: liveness probes by pod IP).
          request({ host: u.hostname, port: u.port, path: "/readyz", headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on("error", reject)
            .end();
        });
      expect(await status("mcp.example.test")).not.toBe(403);
      expect(await status("other.example.test")).toBe(403);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("`npm start -- doctor` runs doctor (the start script used to hard-code serve)", () => {
    const res = spawnSync("npm", ["start", "--silent", "--", "doctor", "--config", config], {
      cwd: ROOT,
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    });
    expect(res.stdout).toMatch(/SERVER\s+TRANSPORT\s+STATE/);
    expect(res.stdout).toMatch(/memory\s+stdio\s+ready/);
    expect(res.status).toBe(1); // "missing" failed
  });

  it("doctor and tools print no log lines unless --verbose", async () => {
    for (const command of ["doctor", "tools"]) {
      const quiet = await run([command, "--config", config], { HOME: home });
      expect(quiet.stdout).toMatch(command === "doctor" ? /memory\s+stdio\s+ready/ : /memory_read_graph/);
      expect(quiet.stderr, command).not.toMatch(JSON_LOG);
      const verbose = await run([command, "--config", config, "--verbose"], { HOME: home });
      expect(verbose.stderr, command).toMatch(JSON_LOG);
      expect(verbose.stderr).toMatch(/"msg":"server failed to connect"/);
    }
  });

  it("colours tables only on a terminal or with FORCE_COLOR, never with NO_COLOR; JSON logs on a pipe unless told", async () => {
    const plain = await run(["doctor", "--config", config], { HOME: home });
    expect(plain.stdout).not.toContain("\x1b[");
    const forced = await run(["doctor", "--config", config], { HOME: home, FORCE_COLOR: "1" });
    expect(forced.stdout).toMatch(/\x1b\[32mready/);
    const noColour = await run(["doctor", "--config", config], {
      HOME: home,
      FORCE_COLOR: "1",
      NO_COLOR: "1",
    });
    expect(noColour.stdout).not.toContain("\x1b[");
    const shape = (table: string): string => table.replace(/(ready\s+9\s+)\d+/, "$1N");
    expect(shape(noColour.stdout)).toBe(shape(plain.stdout));

    const pretty = await run(["tools", "--config", config, "--verbose"], {
      HOME: home,
      AUTONOMOUS_MCP_LOG_FORMAT: "pretty",
    });
    expect(pretty.stderr).not.toMatch(JSON_LOG);
    expect(pretty.stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: server failed to connect/m);
    const bad = await run(["tools", "--config", config], { HOME: home, AUTONOMOUS_MCP_LOG_FORMAT: "yaml" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/AUTONOMOUS_MCP_LOG_FORMAT must be json or pretty, got "yaml"/);
  });
});

/** A server that never answers initialize (it fails after its connect timeout) next to one that does. */
async function hangConfig(dir: string): Promise<string> {
  return writeConfig(dir, {
    startup: { graceMs: 1_000 },
    mcpServers: {
      fast: faultServerEntry("normal"),
      hang: { ...faultServerEntry("hold_initialize"), connectTimeoutMs: 3_000 },
    },
  });
}

describe("doctor with a server that never answers, on a pipe", () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(() => tmp.cleanup());

  it("says once, after the start-up grace, who it still waits for; the table stays clean", async () => {
    const config = await hangConfig(tmp.dir);
    const res = await run(["doctor", "--config", config], { HOME: tmp.dir }, tmp.dir);
    expect(res.code).toBe(1);
    const waiting = res.stderr.split("\n").filter((l) => /still waiting for/.test(l));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatch(
      // (fast too, if a loaded machine has not started it within the grace)
      /^autonomous-mcp: after \d+ s still waiting for (fast \(connect timeout 30 s\), )?hang \(connect timeout 3 s\); the report follows when they answer or time out$/,
    );
    expect(res.stderr).not.toMatch(/servers connected|\r|\x1b/); // no progress line on a pipe
    expect(res.stdout).toMatch(/^SERVER\s+TRANSPORT/);
    expect(res.stdout).toMatch(/^hang\s+stdio\s+failed/m);
    expect(res.stdout).not.toMatch(/still waiting/);
  });
});

describe("init and the config lookup", () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(() => tmp.cleanup());

  it("says where it looked and to run init when there is no config", async () => {
    const res = await run(["validate"], { HOME: tmp.dir }, tmp.dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      `no config file found. Looked at:\n  ${path.join(tmp.dir, "servers.config.json")}\n`,
    );
    expect(res.stderr).toContain(path.join(tmp.dir, ".config", "autonomous-mcp", "servers.config.json"));
    expect(res.stderr).toMatch(/Run `autonomous-mcp init`/);
  });

  it("writes the starter to $XDG_CONFIG_HOME, refuses to overwrite it, and validate then finds it from any folder", async () => {
    const xdg = path.join(tmp.dir, "xdg");
    const env = { HOME: tmp.dir, XDG_CONFIG_HOME: xdg };
    const file = path.join(xdg, "autonomous-mcp", "servers.config.json");
    const first = await run(["init"], env, tmp.dir);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`wrote ${file}`);
    // The starter, with $schema pointing at this installation's schema (relative would point nowhere here).
    const schemaUrl = pathToFileURL(path.join(ROOT, "schema", "servers.config.schema.json")).href;
    const shipped = (await readFile(path.join(ROOT, "servers.config.json"), "utf8")).replace(
      '"$schema": "./schema/servers.config.schema.json"',
      `"$schema": "${schemaUrl}"`,
    );
    expect(shipped).toContain(schemaUrl);
    const written = await readFile(file, "utf8");
    expect(written).toBe(shipped);
    const schemaRef = /"\$schema": "([^"]+)"/.exec(written)?.[1] ?? "";
    expect(existsSync(fileURLToPath(schemaRef))).toBe(true);

    await writeFile(file, '{ "mcpServers": {} }');
    const again = await run(["init"], env, tmp.dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; edit it, or run init --force/);
    expect(await readFile(file, "utf8")).toBe('{ "mcpServers": {} }');
    const forced = await run(["init", "--force"], env, tmp.dir);
    expect(forced.code).toBe(0);
    expect(await readFile(file, "utf8")).toBe(shipped);

    const validated = await run(["validate"], env, tmp.dir);
    expect(validated.stderr).toContain(`${file}: valid (5 servers)`);
    expect(validated.code).toBe(0);
    // ./servers.config.json wins over the user config.
    const local = await writeConfig(tmp.dir, { mcpServers: {} });
    const localFirst = await run(["validate"], env, tmp.dir);
    expect(localFirst.stderr).toContain(`${local}: valid (0 servers)`);
  });

  it("init --print prints the starter on stdout and writes nothing", async () => {
    const home = path.join(tmp.dir, "print-home");
    const res = await run(["init", "--print"], { HOME: home }, tmp.dir);
    expect(res.code).toBe(0);
    const schemaUrl = pathToFileURL(path.join(ROOT, "schema", "servers.config.schema.json")).href;
    expect(res.stdout).toBe(
      (await readFile(path.join(ROOT, "servers.config.json"), "utf8")).replace(
        "./schema/servers.config.schema.json",
        schemaUrl,
      ),
    );
    expect(existsSync(path.join(home, ".config"))).toBe(false);
  });

  it("uses ~/.config when XDG_CONFIG_HOME is unset", async () => {
    const home = path.join(tmp.dir, "home2");
    const res = await run(["init"], { HOME: home }, tmp.dir);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(path.join(home, ".config", "autonomous-mcp", "servers.config.json"));
  });
});

/** What a terminal shows for raw output: \r returns to column 0, ESC[K erases to the end of the line. */
function screen(raw: string): string[] {
  const text = raw.replace(/\x1b\[[0-9;]*m/g, "");
  const lines: string[] = [];
  let line: string[] = [];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (ch === "\r") col = 0;
    else if (ch === "\n") {
      lines.push(line.join(""));
      line = [];
      col = 0;
    } else if (text.startsWith("\x1b[K", i)) {
      line.length = col;
      i += 2;
    } else line[col++] = ch;
  }
  if (line.length > 0) lines.push(line.join(""));
  return lines;
}

const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!hasScript)("on a terminal (util-linux script gives the CLI a pty)", () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(() => tmp.cleanup());

  it("never puts a log line on the progress line (serve over HTTP: readable logs, progress n/N)", async () => {
    const config = await writeConfig(tmp.dir, {
      mcpServers: { memory: memoryEntry(tmp.dir), missing: { command: "definitely-not-a-command-xyz" } },
    });
    const pidFile = path.join(tmp.dir, "pid");
    const command = `${process.execPath} ${CLI} --config ${config} --transport http --port 0 & echo $! > ${pidFile}; wait`;
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir, TERM: "xterm" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (/listening on http/.test(out)) resolve();
        };
        child.stdout.on("data", check);
        child.once("exit", () => reject(new Error(`script exited: ${out}`)));
      });
    } finally {
      const pid = Number(await readFile(pidFile, "utf8"));
      process.kill(pid, "SIGTERM");
      await exited;
    }
    const shown = screen(out);
    const logLine = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR)/;
    expect(shown.some((l) => /servers connected 2\/2/.test(l))).toBe(true);
    expect(shown.some((l) => logLine.test(l) && l.includes("server ready"))).toBe(true);
    for (const l of shown) {
      if (/servers connected/.test(l))
        expect(l, "a progress line holds only progress").not.toMatch(/INFO|WARN|ERROR|\{"level"/);
      if (/INFO|WARN|ERROR/.test(l)) expect(l, "a log line starts its own line").toMatch(logLine);
    }
  });

  it("doctor shows progress while it connects, then only the table (the progress line is cleared)", () => {
    const config = path.join(tmp.dir, "servers.config.json");
    const res = spawnSync(
      "script",
      ["-qec", `${process.execPath} ${CLI} doctor --config ${config}`, "/dev/null"],
      {
        encoding: "utf8",
        env: { PATH: process.env["PATH"] ?? "", HOME: tmp.dir, TERM: "xterm" },
        timeout: 60_000,
      },
    );
    expect(res.stdout).toMatch(/servers connected 1\/2/); // drawn …
    const shown = screen(res.stdout);
    expect(shown.filter((l) => /servers connected|connecting/.test(l))).toEqual([]); // … and gone
    expect(shown[0]).toMatch(/^SERVER\s+TRANSPORT/);
    expect(res.stdout).toMatch(/\x1b\[1mSERVER/); // colours on a terminal
    expect(res.stdout).not.toMatch(/INFO|WARN|\{"level"/); // quiet
  });

  it("doctor's progress line names the servers it still waits for (and no extra line)", async () => {
    const dir = path.join(tmp.dir, "hang");
    await mkdir(dir);
    const config = await hangConfig(dir);
    const res = spawnSync(
      "script",
      ["-qec", `${process.execPath} ${CLI} doctor --config ${config}`, "/dev/null"],
      {
        encoding: "utf8",
        env: { PATH: process.env["PATH"] ?? "", HOME: dir, TERM: "xterm" },
        timeout: 60_000,
      },
    );
    expect(res.stdout).toMatch(/servers connected 1\/2 — waiting for hang \(\d+ s\)/);
    expect(res.stdout).not.toMatch(/still waiting for/); // the progress line already says it
    const shown = screen(res.stdout);
    expect(shown.filter((l) => /servers connected|connecting/.test(l))).toEqual([]);
    expect(shown[0]).toMatch(/^SERVER\s+TRANSPORT/);
  });
});
