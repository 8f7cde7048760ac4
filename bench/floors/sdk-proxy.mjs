/**
 * Reference (not a floor): the straightforward MCP proxy built from the SDK. It is one SDK `Server` on
 * stdio in front of one SDK `Client` that spawns the server. tools/list is answered from the server's
 * list with every name given the `<server>_` prefix. tools/call is passed on with `client.callTool`.
 * Nothing else happens: no validation, no breaker, no deadlines, no batching. Issue #7 quotes this design
 * at +0.40–0.45 ms and 42–56 % at 32 in flight on this kind of machine, and 1MCP a little above it. It runs
 * in the same benchmark run as our aggregator, so the two harnesses can be compared at this point.
 *
 * It takes the aggregator's command line (`serve --config FILE`) and fronts the config's first server,
 * like pipe.mjs and parse.mjs. The SDK is 1.x as bench/package.json pins it (the benchmark client's own,
 * bench/lib/procs.mjs), else the root's.
 */
import { readFileSync } from "node:fs";
import { sdk } from "../lib/procs.mjs";

const { Client } = await sdk("client/index.js");
const { StdioClientTransport } = await sdk("client/stdio.js");
const { Server } = await sdk("server/index.js");
const { StdioServerTransport } = await sdk("server/stdio.js");
const { CallToolRequestSchema, ListToolsRequestSchema } = await sdk("types.js");

const config = JSON.parse(readFileSync(process.argv[process.argv.indexOf("--config") + 1], "utf8"));
const [[name, entry]] = Object.entries(config.mcpServers);
const prefix = `${name}_`;

const client = new Client({ name: "sdk-proxy", version: "1.0.0" });
await client.connect(
  new StdioClientTransport({
    command: entry.command,
    args: entry.args,
    env: { ...process.env, ...entry.env },
    stderr: "inherit",
  }),
);

const server = new Server({ name: "sdk-proxy", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async (request) => {
  const listed = await client.listTools(request.params);
  return { ...listed, tools: listed.tools.map((t) => ({ ...t, name: prefix + t.name })) };
});
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const { name: full, arguments: args } = request.params;
  if (!full.startsWith(prefix)) throw new Error(`unknown tool ${full}`);
  return client.callTool({ name: full.slice(prefix.length), arguments: args });
});
const transport = new StdioServerTransport();
transport.onclose = () => void client.close();
process.stdin.on("end", () => void client.close().finally(() => process.exit(0)));
await server.connect(transport);
