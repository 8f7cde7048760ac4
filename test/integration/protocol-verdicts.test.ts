/**
 * The era verdict of one downstream connection, against real fixture processes: a stdio server that
 * exits on the server/discover probe is a legacy server (started again for initialize, once); a stale
 * cached verdict is replaced by a fresh probe at once; a verdict belongs to one endpoint.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ProtocolError } from "@modelcontextprotocol/client";
import pino from "pino";
import { DownstreamConnection, type ConnectionSettings } from "../../src/downstream/connection.js";
import { isStaleVerdict, versionMismatch } from "../../src/downstream/classify.js";
import { endpointOf, VerdictCache } from "../../src/downstream/verdicts.js";
import { tempDir, waitFor, type TempDir } from "../helpers/aggregator.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/v2-server.mjs", import.meta.url));
const log = pino({ level: "silent" });

function settings(name: string, args: string[], env: Record<string, string>): ConnectionSettings {
  return {
    name,
    type: "stdio",
    command: process.execPath,
    args: [FIXTURE, ...args],
    env,
    headers: {},
    connectTimeoutMs: 10_000,
    restart: { maxRestarts: 3, windowMs: 60_000, initialDelayMs: 10, maxDelayMs: 10 },
    healthCheckIntervalMs: 0,
  };
}

interface LogLine {
  pid: number;
  era?: string;
  method?: string;
}

async function lines(file: string): Promise<LogLine[]> {
  const raw = await readFile(file, "utf8").catch(() => "");
  return raw
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);
}

describe("era verdicts of a downstream connection", () => {
  let tmp: TempDir | undefined;
  const open: DownstreamConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await tmp?.cleanup();
  });

  function connect(s: ConnectionSettings, verdicts = new VerdictCache()): DownstreamConnection {
    const c = new DownstreamConnection(s, {
      log,
      clientInfo: { name: "autonomous-mcp", version: "0.0.0" },
      clientCapabilities: () => ({}),
      hooks: {},
      verdicts,
    });
    open.push(c);
    return c;
  }

  it("takes a stdio server that exits on the probe for a legacy one: started again once, then never probed", async () => {
    tmp = await tempDir();
    const startLog = path.join(tmp.dir, "start.log");
    const verdicts = new VerdictCache();
    const s = settings("rusty", ["--era", "legacy", "--exit-on-probe"], { V2_START_LOG: startLog });
    const c = connect(s, verdicts);
    await c.start();
    expect(c.state).toBe("ready");
    expect(c.protocolVersion).toBe("2025-11-25");
    expect(c.modern).toBe(false);
    // The second process counts as a restart (of the budget too).
    expect(c.restarts).toBe(1);
    expect(verdicts.get("rusty", endpointOf(s))).toEqual({ kind: "legacy" });
    let log = await lines(startLog);
    // Two processes: the one the probe ended, and the one initialize went to.
    expect(log.filter((l) => l.era)).toHaveLength(2);
    expect(log.filter((l) => l.method === "initialize")).toHaveLength(1);

    // A restart (the process killed) goes straight to initialize: one more process, no probe.
    const pid = c.pid ?? 0;
    process.kill(pid, "SIGKILL");
    await waitFor(() => c.state === "ready" && c.pid !== pid, 10_000);
    log = await lines(startLog);
    expect(log.filter((l) => l.era)).toHaveLength(3);
    expect(log.filter((l) => l.method === "initialize")).toHaveLength(2);
  });

  it("a server crashing at every start gets no spawn beyond its restart budget", async () => {
    tmp = await tempDir();
    const stateFile = path.join(tmp.dir, "state.json");
    const s: ConnectionSettings = {
      ...settings("broken", [], {}),
      args: [fileURLToPath(new URL("../fixtures/fault-server.mjs", import.meta.url))],
      env: { FAULT_MODE: "crash_at_start", FAULT_STATE_FILE: stateFile },
      restart: { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 10, maxDelayMs: 10 },
    };
    const c = connect(s);
    await c.start();
    await waitFor(() => c.state === "failed", 10_000);
    const state = JSON.parse(await readFile(stateFile, "utf8")) as { starts: number };
    expect(state.starts).toBe(3); // the first start and two restarts: a probe-ending exit is not a free start
    expect(c.restarts).toBe(2);
  });

  it("probes again at once when a cached legacy verdict meets a server that became modern-only", async () => {
    tmp = await tempDir();
    const startLog = path.join(tmp.dir, "start.log");
    const verdicts = new VerdictCache();
    const s = settings("upgraded", ["--era", "modern"], { V2_START_LOG: startLog });
    verdicts.set("upgraded", endpointOf(s), { kind: "legacy" });
    const c = connect(s, verdicts);
    await c.start();
    expect(c.state).toBe("ready");
    expect(c.protocolVersion).toBe("2026-07-28");
    expect(c.modern).toBe(true);
    expect(verdicts.get("upgraded", endpointOf(s))).toMatchObject({ kind: "modern" });
    const methods = (await lines(startLog)).filter((l) => l.method).map((l) => l.method);
    // initialize (refused with -32022 naming 2026-07-28), then a fresh probe on a new process.
    expect(methods.slice(0, 2)).toEqual(["initialize", "server/discover"]);
    expect((await lines(startLog)).filter((l) => l.era)).toHaveLength(2);
  });

  it("health-checks a modern server with server/discover (2026-07-28 has no ping)", async () => {
    tmp = await tempDir();
    const startLog = path.join(tmp.dir, "start.log");
    const failures: unknown[] = [];
    const s = {
      ...settings("watched", ["--era", "modern"], { V2_START_LOG: startLog }),
      healthCheckIntervalMs: 50,
    };
    const c = new DownstreamConnection(s, {
      log,
      clientInfo: { name: "autonomous-mcp", version: "0.0.0" },
      clientCapabilities: () => ({}),
      hooks: { onHealthFailure: (_server, error) => void failures.push(error) },
    });
    open.push(c);
    await c.start();
    expect(c.modern).toBe(true);
    // The probe, then at least two health checks, all answered.
    await waitFor(
      async () => (await lines(startLog)).filter((l) => l.method === "server/discover").length >= 3,
    );
    expect(failures).toEqual([]);
    expect(c.state).toBe("ready");
    expect(c.restarts).toBe(0);
    expect((await lines(startLog)).filter((l) => l.method === "ping")).toEqual([]);
  });

  it("adopts a cached modern verdict with no round trip", async () => {
    tmp = await tempDir();
    const startLog = path.join(tmp.dir, "start.log");
    const verdicts = new VerdictCache();
    const s = settings("fast", ["--era", "dual"], { V2_START_LOG: startLog });
    const first = connect(s, verdicts);
    await first.start();
    await first.close();
    const second = connect(s, verdicts);
    await second.start();
    expect(second.state).toBe("ready");
    expect(second.protocolVersion).toBe("2026-07-28");
    const log = await lines(startLog);
    const pids = [...new Set(log.map((l) => l.pid))];
    expect(pids).toHaveLength(2);
    expect(log.filter((l) => l.pid === pids[1] && l.method === "server/discover")).toHaveLength(0);
    expect(log.filter((l) => l.pid === pids[1] && l.method === "initialize")).toHaveLength(0);
  });
});

describe("VerdictCache", () => {
  it("keeps a verdict for one endpoint only", () => {
    const cache = new VerdictCache();
    const a = settings("s", ["--era", "modern"], {});
    const b = settings("s", ["--era", "legacy"], {});
    cache.set("s", endpointOf(a), { kind: "legacy" });
    expect(cache.get("s", endpointOf(a))).toEqual({ kind: "legacy" });
    expect(cache.get("s", endpointOf(b))).toBeUndefined();
    expect(cache.get("t", endpointOf(a))).toBeUndefined();
    cache.forget("s");
    expect(cache.get("s", endpointOf(a))).toBeUndefined();
  });
});

describe("version errors", () => {
  const refused = (supported: unknown, requested?: string): ProtocolError =>
    new ProtocolError(-32022, "Unsupported protocol version", {
      supported,
      ...(requested ? { requested } : {}),
    });

  it("a -32022 naming only versions we do not speak is a mismatch (permanent)", () => {
    expect(versionMismatch(refused(["2027-01-01"], "2026-07-28"))).toEqual({
      serverVersions: ["2027-01-01"],
      requested: "2026-07-28",
    });
    expect(isStaleVerdict(refused(["2027-01-01"]))).toBe(false);
  });

  it("a -32022 naming a version we speak is a stale verdict, not a mismatch", () => {
    expect(versionMismatch(refused(["2026-07-28"], "2025-11-25"))).toBeUndefined();
    expect(isStaleVerdict(refused(["2026-07-28"], "2025-11-25"))).toBe(true);
  });

  it("an initialize answer with a version we do not speak is a mismatch", () => {
    expect(versionMismatch(new Error("Server's protocol version is not supported: 1999-01-01"))).toEqual({
      serverVersions: ["1999-01-01"],
      requested: undefined,
    });
  });

  it("a malformed -32022 (no supported list) is still a mismatch, named as such; other errors are not", () => {
    expect(versionMismatch(refused("2027"))).toEqual({ serverVersions: [], requested: undefined });
    expect(versionMismatch(new ProtocolError(-32601, "Method not found"))).toBeUndefined();
    expect(versionMismatch(new Error("spawn ENOENT"))).toBeUndefined();
  });
});
