import { Aggregator } from "../aggregator.js";
import type { LoadedConfig, ResolvedServer } from "../config/load.js";
import { DISABLED_REASON } from "../config/resolve.js";
import type { DownstreamConnection } from "../downstream/connection.js";
import { renderTable } from "../cli/table.js";
import { style as plainStyle, type Style } from "../cli/terminal.js";
import type { Logger } from "../logger.js";
import { authCell, authStatus, type AuthStatus } from "../oauth/status.js";
import { TokenStore } from "../oauth/store.js";
import { watchProgress, type ProgressIo } from "./progress.js";

export interface DoctorRow {
  readonly server: string;
  readonly transport: string;
  readonly state: string;
  readonly tools: number;
  readonly connectMs: number | null;
  /** The protocol version negotiated (2026-07-28 through server/discover, else initialize's); null if not connected. */
  readonly protocolVersion: string | null;
  /** "modern" (2026-07-28, no session) or "legacy" (2025-era initialize); null if not connected. */
  readonly era: "modern" | "legacy" | null;
  readonly lastError: string | null;
  readonly hint: string | null;
  readonly launch?: string;
  /** state "starting": since when (ISO time); the server had not answered when doctor stopped waiting. */
  readonly since?: string;
  /** How it authenticates and, for OAuth, the token's state and expiry (never the token). */
  readonly auth?: AuthStatus;
}

/**
 * `autonomous-mcp doctor`: connects to every enabled server once (no restarts) and prints a table —
 * server, transport, state, tools, connect ms, protocol version, last error and a hint for the fix. Exit 1 if an
 * enabled server fails.
 */
export interface ReportIo extends ProgressIo {
  readonly json: boolean;
  /** The report (stdout in the CLI). */
  readonly out: (text: string) => void;
  /** Colours for the table (default none). */
  readonly style?: Style;
  /** Report after this long even if servers are still starting (default: wait for every server). */
  readonly waitMs?: number;
}

export async function doctor(loaded: LoadedConfig, log: Logger, io: ReportIo): Promise<number> {
  const once: LoadedConfig = {
    ...loaded,
    servers: loaded.servers.map((s) => ({
      ...s,
      restart: { ...s.restart, maxRestarts: 0 },
      healthCheckIntervalMs: 0,
    })),
  };
  const agg = new Aggregator(once, { log });
  const stopProgress = watchProgress(agg.startup, once, io);
  try {
    await agg.start({}, { graceMs: io.waitMs ?? Infinity });
    stopProgress();
    const store = TokenStore.fromEnv();
    const rows = await Promise.all(
      once.servers.map(async (s) => ({
        ...rowOf(s, agg.pool.get(s.name), agg.startup.sinceOf(s.name)),
        auth: await authStatus(s, store, Date.now()),
      })),
    );
    if (io.json) io.out(`${JSON.stringify({ servers: rows }, null, 2)}\n`);
    else io.out(table(rows, io.style ?? plainStyle(false)));
    return rows.some((r) => r.state === "failed") ? 1 : 0;
  } finally {
    stopProgress();
    await agg.shutdown(0);
  }
}

function rowOf(s: ResolvedServer, c: DownstreamConnection | undefined, since: number | undefined): DoctorRow {
  if (s.skipReason !== undefined) {
    const disabled = s.skipReason === DISABLED_REASON;
    return {
      server: s.name,
      transport: s.type,
      state: disabled ? "disabled" : "skipped",
      tools: 0,
      connectMs: null,
      protocolVersion: null,
      era: null,
      lastError: null,
      hint: disabled
        ? DISABLED_REASON
        : `missing credential: ${s.skipReason.replace(/^set /, "export ")} and run again`,
    };
  }
  if (c?.state === "starting" || c?.state === "restarting") {
    return {
      server: s.name,
      transport: s.type,
      state: "starting",
      tools: 0,
      connectMs: null,
      protocolVersion: null,
      era: null,
      lastError: c.lastError?.message ?? null,
      hint: `still starting after the wait; it has up to connectTimeoutMs (${s.connectTimeoutMs} ms) to answer initialize`,
      ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
    };
  }
  const ready = c?.state === "ready";
  const error = ready ? null : (c?.lastError?.message ?? "did not start");
  return {
    server: s.name,
    transport: s.type,
    state: ready ? "ready" : "failed",
    tools: c?.catalog.tools.length ?? 0,
    connectMs: c?.connectMs ?? null,
    protocolVersion: ready ? (c.protocolVersion ?? null) : null,
    era: ready ? (c.modern ? "modern" : "legacy") : null,
    lastError: error,
    hint: ready ? null : hintFor(s, error ?? "", c?.stderrTail ?? []),
    ...(c?.launch
      ? {
          launch:
            c.launch.via === "local-package" ? `local ${c.launch.packageName ?? ""}`.trim() : "as configured",
        }
      : {}),
  };
}

/** Turns the usual start-up failures into the fix. */
export function hintFor(s: ResolvedServer, error: string, stderr: readonly string[]): string {
  const e = error.toLowerCase();
  const tail = stderr.length > 0 ? ` Its last stderr line: ${stderr[stderr.length - 1]}` : "";
  if (e.includes("no protocol version in common"))
    return `the server and autonomous-mcp share no MCP protocol version (both sides' versions are in the error). Upgrade whichever side is older; see docs/troubleshooting.md.`;
  if (e.includes("enoent"))
    return `command not found: "${s.command ?? ""}". Install it, or give an absolute path in "command".`;
  if (e.includes("eacces")) return `"${s.command ?? ""}" is not executable (permission denied).`;
  if (e.includes("timed out") || e.includes("timeout")) {
    return `no answer to initialize within connectTimeoutMs (${s.connectTimeoutMs} ms). Run the command by hand to see if it starts; raise connectTimeoutMs for slow servers.${tail}`;
  }
  if (e.includes("econnrefused") || e.includes("fetch failed"))
    return `nothing answers at ${s.url ?? "the url"}: is the server running?`;
  if (e.includes("autonomous-mcp login")) return `sign in once: autonomous-mcp login ${s.name}`;
  if (e.includes("401") || e.includes("403") || e.includes("unauthorized"))
    return `the server refused our credentials: check "headers".`;
  if (e.includes("closed") || e.includes("exited")) {
    return `the process exited during start-up: run "${[s.command, ...s.args].join(" ")}" by hand to see why.${tail}`;
  }
  return `see the error above.${tail}`;
}

const STATE_COLOURS: Record<string, keyof Style> = {
  ready: "green",
  failed: "red",
  skipped: "yellow",
  disabled: "dim",
};

function table(rows: readonly DoctorRow[], s: Style): string {
  const text = renderTable(
    rows,
    [
      { head: "SERVER", cell: (r) => r.server },
      { head: "TRANSPORT", cell: (r) => r.transport },
      {
        head: "STATE",
        cell: (r) => r.state,
        paint: (t, r) => s[STATE_COLOURS[r.state] ?? "bold"](t),
      },
      { head: "TOOLS", cell: (r) => String(r.tools) },
      { head: "CONNECT MS", cell: (r) => (r.connectMs === null ? "-" : String(r.connectMs)) },
      {
        head: "PROTOCOL",
        cell: (r: DoctorRow) => (r.protocolVersion === null ? "-" : `${r.protocolVersion} (${r.era ?? ""})`),
      },
      // Only when a server authenticates: a table of stdio servers stays as it was.
      ...(rows.some((r) => r.auth !== undefined && r.auth.kind !== "none")
        ? [{ head: "AUTH", cell: (r: DoctorRow) => authCell(r.auth) }]
        : []),
      { head: "LAST ERROR", cell: (r) => r.lastError ?? "-" },
    ],
    s,
  );
  const hints = rows.filter((r) => r.hint).map((r) => `  ${s.bold(r.server)}: ${r.hint ?? ""}\n`);
  return text + hints.join("");
}
