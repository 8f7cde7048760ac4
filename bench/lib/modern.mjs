/**
 * The `modern` section's paths (docs/PERFORMANCE.md#method): the v2 fixture server
 * (test/fixtures/v2-server.mjs) directly over HTTP, and through the aggregator's HTTP front, called by a
 * v2 client pinned to 2026-07-28 and by a 2025-era (SDK 1.x) client; plus the counters of round trips per
 * input_required exchange (the fixture's request log, V2_START_LOG, and the client's own requests).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { spawnUntil, withTimeout } from "./endpoints.mjs";
import { CLI, ROOT, descendants, importFrom, killPids, sdk } from "./procs.mjs";

export const MODERN = "2026-07-28";
export const V2_FIXTURE = path.join(ROOT, "test", "fixtures", "v2-server.mjs");

const v2 = await importFrom(ROOT, "@modelcontextprotocol/client");
const { Client: V1Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport: V1Http } = await sdk("client/streamableHttp.js");
const { ElicitRequestSchema } = await sdk("types.js");
const { getDefaultEnvironment } = await sdk("client/stdio.js");

/** The fixture's stdio entry for an aggregator config (its requests are logged to `log`). */
export function fixtureEntry(era, log) {
  return {
    command: process.execPath,
    args: [V2_FIXTURE, "--era", era, "--name", era],
    env: { V2_START_LOG: log },
  };
}

/** tools/call requests the fixture processes of one era received so far (their V2_START_LOG lines). */
export function toolCallsLogged(log, era) {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    return 0;
  }
  const lines = text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const pids = new Set(lines.filter((l) => l.era === era).map((l) => l.pid));
  return lines.filter((l) => pids.has(l.pid) && l.method === "tools/call").length;
}

/** The fixture over Streamable HTTP (`--transport http`): resolves with its URL and a stop function. */
export async function startFixtureHttp(era, { timeoutMs = 60_000 } = {}) {
  const { child, match, tail } = await spawnUntil({
    command: process.execPath,
    args: [V2_FIXTURE, "--era", era, "--name", era, "--transport", "http"],
    env: getDefaultEnvironment(),
    ready: /listening (http:\/\/\S+\/mcp)/,
    timeoutMs,
    label: `v2 fixture (${era}, HTTP)`,
  });
  return {
    url: match[1],
    pid: child.pid,
    tail,
    close: () => killPids([child.pid, ...descendants(child.pid)], 1_000),
  };
}

/** The aggregator's HTTP front (`serve --transport http --port 0`), without a client. */
export async function startAggregatorHttp({ configFile, home, timeoutMs = 60_000 }) {
  const { child, match, tail } = await spawnUntil({
    command: process.execPath,
    args: [CLI, "serve", "--config", configFile, "--transport", "http", "--port", "0", "--host", "127.0.0.1"],
    env: { ...getDefaultEnvironment(), HOME: home },
    ready: /listening on (http:\/\/\S+\/mcp)/,
    timeoutMs,
    label: "autonomous-mcp (HTTP)",
  });
  return {
    url: match[1],
    pid: child.pid,
    tail,
    close: () => killPids([child.pid, ...descendants(child.pid)], 1_000),
  };
}

/** Counts the client's own tools/call requests (each one an HTTP round trip). */
function countCalls(transport, counters) {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (message?.method === "tools/call") counters.clientCalls++;
    return send(message, options);
  };
}

const ANSWER = { action: "accept", content: { answer: "yes" } };

/**
 * A measured path: `call(logical)` calls the tool this path exposes under that logical name; `counters`
 * counts the client's tools/call requests and the elicitations it answered.
 */
function modernPath({ id, label, client, names, counters, close, answersOverWire }) {
  return {
    id,
    label,
    /** The answer to an elicitation is a request of its own on the wire (2025-era), not an in-process reply. */
    answersOverWire,
    names,
    counters,
    call: (logical, args) => client.callTool({ name: names[logical], arguments: args }),
    close: () => Promise.race([client.close().catch(() => undefined), close?.()]),
  };
}

/** A v2 client pinned to 2026-07-28 over Streamable HTTP, answering elicitations (auto-fulfilled input_required). */
export async function modernHttpPath({ id, label, url, names }) {
  const counters = { clientCalls: 0, elicitations: 0 };
  const client = new v2.Client(
    { name: "amcp-bench-modern", version: "1.0.0" },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  client.setRequestHandler("elicitation/create", async () => {
    counters.elicitations++;
    return ANSWER;
  });
  const transport = new v2.StreamableHTTPClientTransport(new URL(url));
  countCalls(transport, counters);
  await withTimeout(client.connect(transport), 60_000, `${label}: connect`);
  return modernPath({ id, label, client, names, counters, answersOverWire: false });
}

/** A 2025-era client (SDK 1.x, the bench's instrument) over Streamable HTTP, answering elicitation/create. */
export async function legacyHttpPath({ id, label, url, names }) {
  const counters = { clientCalls: 0, elicitations: 0 };
  const client = new V1Client(
    { name: "amcp-bench-legacy", version: "1.0.0" },
    { capabilities: { elicitation: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => {
    counters.elicitations++;
    return ANSWER;
  });
  const transport = new V1Http(new URL(url));
  countCalls(transport, counters);
  await withTimeout(client.connect(transport), 60_000, `${label}: connect`);
  return modernPath({ id, label, client, names, counters, answersOverWire: true });
}
