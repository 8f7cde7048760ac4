import type { ResolvedServer } from "../config/load.js";
import type { OAuthSessions } from "../oauth/session.js";
import type { ConnectionSettings } from "./types.js";

/** A resolved server entry as its connection sees it; an OAuth server gets its process-wide session. */
export function connectionSettings(s: ResolvedServer, oauth?: OAuthSessions): ConnectionSettings {
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
    oauth:
      s.auth && s.type === "http" && s.url && oauth ? oauth.sessionFor(s.name, s.url, s.auth) : undefined,
  };
}
