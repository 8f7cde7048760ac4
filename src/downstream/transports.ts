import type { Transport } from "@modelcontextprotocol/client";
import type { Logger } from "../logger.js";
import type { OAuthSession } from "../oauth/session.js";
import { cutText } from "../secrets.js";
import { childEnvironment } from "./env.js";
import { defaultSearchRoots, planLaunch, type LaunchPlan } from "./launch.js";
import { DEFAULT_MAX_RESULT_BYTES, ProcessGroupStdioTransport } from "./stdio.js";
import { sizeLimitedFetch } from "./sizeLimitedFetch.js";

/** The part of a resolved server entry that says how to reach it. */
export interface TransportSpec {
  readonly name: string;
  readonly type: "stdio" | "http" | "sse";
  readonly command?: string | undefined;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** stdio: most bytes of unread input before new requests are refused (undefined: no bound). */
  readonly maxWriteQueueBytes?: number | undefined;
  /** Largest message accepted from the server, bytes (stdio: a longer line fails its request alone). */
  readonly maxResultBytes?: number | undefined;
  /** Deepest nesting accepted in a message from the server. */
  readonly maxJsonDepth?: number | undefined;
  /** http: the server's OAuth session (bearer token, refresh); absent = static headers only. */
  readonly oauth?: OAuthSession | undefined;
}

export interface CreatedTransport {
  readonly transport: Transport;
  /** For stdio: how the command was resolved. */
  readonly launch?: LaunchPlan;
}

/**
 * A stdio server's transport, spawned by start(). Cheap to import: no SDK runtime code, so the CLI can
 * spawn servers while the rest of the aggregator is still loading.
 */
export function createStdioTransport(
  spec: TransportSpec,
  log: Pick<Logger, "debug" | "warn">,
): CreatedTransport & { transport: ProcessGroupStdioTransport } {
  if (!spec.command) throw new Error(`${spec.name}: stdio server without a command`);
  const launch = planLaunch(spec.command, spec.args, defaultSearchRoots());
  const transport: ProcessGroupStdioTransport = new ProcessGroupStdioTransport({
    command: launch.command,
    args: launch.args,
    env: childEnvironment(spec.env),
    cwd: spec.cwd,
    name: spec.name,
    maxWriteQueueBytes: spec.maxWriteQueueBytes,
    onStderr: (line) => {
      log.debug({ stderr: line }, "server stderr");
      transport.onStderrLine?.(line);
    },
    maxMessageBytes: spec.maxResultBytes,
    maxJsonDepth: spec.maxJsonDepth,
    onRefused: (reason, details) => log.warn(details, reason),
    onDropped: (reason, details) => log.debug(details, reason),
    onGarbage: (line, error) =>
      log.warn(
        { line: cutText(line, 200), reason: String(error) },
        "dropped a non-JSON-RPC line from the server's stdout",
      ),
  });
  return { transport, launch };
}

/**
 * The one place transports are made: the rest of the code only sees the SDK Transport contract.
 * The HTTP and SSE client transports are loaded only when a remote server is configured.
 */
export async function createTransport(
  spec: TransportSpec,
  log: Logger,
  onStderrLine?: (line: string) => void,
): Promise<CreatedTransport> {
  if (spec.type === "stdio") {
    const created = createStdioTransport(spec, log);
    created.transport.onStderrLine = onStderrLine;
    return created;
  }
  return createRemoteTransport(spec);
}

async function createRemoteTransport(spec: TransportSpec): Promise<CreatedTransport> {
  const { OrderedTransport } = await import("./ordering.js");
  switch (spec.type) {
    case "http": {
      const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
      const { fetchWithRetryAfter } = await import("./retryAfter.js");
      if (!spec.url) throw new Error(`${spec.name}: http server without a url`);
      // 429/503 + Retry-After: the retry layer waits as told (docs/resilience.md); answers are size-bounded.
      const base = fetchWithRetryAfter(sizeLimitedFetch(spec.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES));
      return {
        transport: new OrderedTransport(
          new StreamableHTTPClientTransport(new URL(spec.url), {
            requestInit: { headers: { ...spec.headers } },
            fetch: spec.oauth ? spec.oauth.trackingFetch(base) : base,
            ...(spec.oauth ? { authProvider: spec.oauth.authProvider() } : {}),
            reconnectionOptions: {
              maxRetries: 2,
              initialReconnectionDelay: 500,
              maxReconnectionDelay: 5_000,
              reconnectionDelayGrowFactor: 2,
            },
          }),
          spec.maxJsonDepth,
        ),
      };
    }
    case "sse": {
      const { SSEClientTransport } = await import("@modelcontextprotocol/client");
      if (!spec.url) throw new Error(`${spec.name}: sse server without a url`);
      const headers = { ...spec.headers };
      return {
        transport: new OrderedTransport(
          new SSEClientTransport(new URL(spec.url), {
            requestInit: { headers },
            eventSourceInit: {
              fetch: (input, init) =>
                fetch(input, {
                  ...init,
                  headers: { ...(init?.headers as Record<string, string>), ...headers },
                }),
            },
          }),
          spec.maxJsonDepth,
        ),
      };
    }
    default:
      throw new Error(`${spec.name}: unknown transport type`);
  }
}
