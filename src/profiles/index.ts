import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ToolOverrideView } from "../catalog/policy.js";
import type { ResolvedServer } from "../config/load.js";
import type { ResilienceOverrides } from "../config/schema.js";
import type { Logger } from "../logger.js";
import { githubProfile } from "./github.js";
import { trelloProfile } from "./trello.js";
import { hints } from "./types.js";

/**
 * What we know about a well-known server package: safety hints for tools that ship none, cache TTLs,
 * and quirks handled here rather than left to users.
 */
export interface BuiltinProfile {
  readonly package: string;
  readonly tools?: Readonly<Record<string, ToolOverrideView>>;
  /**
   * Settings the package needs, applied when the entry does not set them itself (they win over the
   * top-level `defaults`): server-memory loses concurrent writes, so it gets serializeWrites.
   */
  readonly defaults?: Pick<ResilienceOverrides, "serializeWrites">;
  /** The server reports tool failures (HTTP 404, bad args) as JSON-RPC errors: turn them into isError results. */
  readonly rpcErrorsAreToolErrors?: boolean;
  /**
   * How HTTP front sessions share the server (docs/configuration.md, sessionMode): "shared" for servers
   * whose behaviour does not depend on the client (no roots, sampling, elicitation, log level or
   * per-session subscriptions). Servers without a profile default to "per-client".
   */
  readonly sessionMode?: "shared" | "per-client";
  /** Runs before the server is started (e.g. create its data folder). */
  prepare?(server: ResolvedServer, log: Pick<Logger, "warn">): Promise<void>;
}

/**
 * `@modelcontextprotocol/server-memory` rewrites its whole file on every write, unserialized: 30
 * concurrent `create_entities` all answer success and a few are saved. Writes are serialized unless the
 * entry says `"serializeWrites": false`.
 */
const memoryProfile: BuiltinProfile = {
  package: "@modelcontextprotocol/server-memory",
  defaults: { serializeWrites: true },
  // One knowledge-graph file: one process must own it (per-client processes would lose each other's writes).
  sessionMode: "shared",
  async prepare(server, log) {
    const file = server.env["MEMORY_FILE_PATH"];
    if (!file) return;
    if (!path.isAbsolute(file)) {
      log.warn(
        { server: server.name },
        "MEMORY_FILE_PATH is relative: server-memory resolves it inside its own package folder",
      );
      return;
    }
    await mkdir(path.dirname(file), { recursive: true });
  },
};

/**
 * `@postman/postman-mcp-server` annotates its tools itself and we trust those hints, with one exception:
 * it marks `runCollection` idempotent, which would let the aggregator retry it after a timeout or a lost
 * connection. A run sends every request of the collection to the user's own APIs (POSTs and DELETEs
 * included), so a retry repeats those side effects: never retried here.
 */
const postmanProfile: BuiltinProfile = {
  package: "@postman/postman-mcp-server",
  sessionMode: "shared",
  tools: {
    runCollection: hints({ readOnlyHint: false, idempotentHint: false, destructiveHint: true }),
  },
};

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  { ...githubProfile, rpcErrorsAreToolErrors: true, sessionMode: "shared" },
  { ...trelloProfile, sessionMode: "shared" },
  memoryProfile,
  postmanProfile,
];

/** The profile named by `profile`, else the one whose package appears in the command or args. */
export function profileFor(
  server: Pick<ResolvedServer, "profile" | "command" | "args">,
): BuiltinProfile | undefined {
  if (server.profile !== undefined) {
    return BUILTIN_PROFILES.find(
      (p) => p.package === server.profile || shortName(p.package) === server.profile,
    );
  }
  const words = [server.command ?? "", ...server.args];
  return BUILTIN_PROFILES.find((p) =>
    words.some(
      (w) =>
        w === p.package ||
        w.startsWith(`${p.package}@`) ||
        w.replaceAll("\\", "/").includes(`/${p.package}/`),
    ),
  );
}

function shortName(pkg: string): string {
  return pkg.split("/").pop() ?? pkg;
}
