import type { ResolvedServer } from "../config/load.js";
import type { ConnectionSettings } from "./types.js";

/** A resolved server entry as its connection sees it. */
export function connectionSettings(s: ResolvedServer): ConnectionSettings {
  return {
    name: s.name,
    type: s.type,
    command: s.command,
    args: s.args,
    env: s.env,
    cwd: s.cwd,
    url: s.url,
    headers: s.headers,
    connectTimeoutMs: s.connectTimeoutMs,
    restart: s.restart,
    healthCheckIntervalMs: s.healthCheckIntervalMs,
    maxWriteQueueBytes: s.maxWriteQueueBytes,
    maxResultBytes: s.maxResultBytes,
    maxJsonDepth: s.maxJsonDepth,
  };
}
