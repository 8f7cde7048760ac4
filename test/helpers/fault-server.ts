import { fileURLToPath } from "node:url";

/** Absolute path of the fault-injecting MCP server fixture (`test/fixtures/fault-server.mjs`). */
export const faultServerPath: string = fileURLToPath(
  new URL("../fixtures/fault-server.mjs", import.meta.url),
);

export type FaultMode =
  | "normal"
  | "crash_at_start"
  | "garbage_stdout"
  | "ignore_eof"
  | "ignore_sigterm"
  | "flap"
  | "slow_start"
  | "hold_initialize"
  | "spawn_grandchild"
  | "list_changed_flood"
  | "stop_reading";

export interface FaultServerEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * A stdio server config that runs the fault server in `mode`. Extra variables (FAIL_TIMES, FLAKY_KIND,
 * FAULT_STATE_FILE, FAULT_LOG_FILE, TOOLS_EXTRA, PAGE_SIZE, ...) go in `env`; see the fixture's header.
 */
export function faultServerEntry(mode: FaultMode, env: Record<string, string> = {}): FaultServerEntry {
  return { command: process.execPath, args: [faultServerPath], env: { FAULT_MODE: mode, ...env } };
}
