import type { LoggingLevel } from "@modelcontextprotocol/server";

/** MCP log levels, least severe first (RFC 5424 order): a session's level filters by this index. */
export const LOGGING_LEVELS: readonly LoggingLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];
