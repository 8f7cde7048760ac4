/**
 * Reference (not a floor): the straightforward MCP proxy built from the v2 SDK packages, as a user would
 * write it from the SDK's "Low-level Server" guide. One low-level `Server` (`@modelcontextprotocol/server`)
 * on stdio in front of one `Client` (`@modelcontextprotocol/client`) that spawns the server over stdio.
 * tools/list is answered from the server's list with every name given the `<server>_` prefix; tools/call
 * is passed on with `client.callTool`. Nothing else: no validation of our own, no breaker, no deadlines,
 * no batching. The twin of sdk-proxy.mjs (the same design on SDK 1.x), run in the same benchmark run.
 *
 * It takes the aggregator's command line (`serve --config FILE`) and fronts the config's first server,
 * like pipe.mjs and parse.mjs. The v2 packages are the repository's own (root node_modules: the copy the
 * aggregator is built on), loaded by path so that a peer's copy under bench/node_modules is never used.
 */
import { readFileSync } from "node:fs";
import { importFrom, ROOT } from "../lib/procs.mjs";

const { Client } = await importFrom(ROOT, "@modelcontextprotocol/client");
const { StdioClientTransport } = await importFrom(ROOT, "@modelcontextprotocol/client/stdio");
const { Server } = await importFrom(ROOT, "@modelcontextprotocol/server");
const { StdioServerTransport } = await importFrom(ROOT, "@modelcontextprotocol/server/stdio");

const config = JSON.parse(readFileSync(process.argv[process.argv.indexOf("--config") + 1], "utf8"));
const [[name, entry]] = Object.entries(config.mcpServers);
const prefix = `${name}_`;

const client = new Client({ name: "sdk2-proxy", version: "1.0.0" });
await client.connect(
  new StdioClientTransport({
    command: entry.command,
    args: entry.args,
    env: { ...process.env, ...entry.env },
    stderr: "inherit",
  }),
);

const server = new Server({ name: "sdk2-proxy", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler("tools/list", async (request) => {
  const listed = await client.listTools(request.params);
  return { ...listed, tools: listed.tools.map((t) => ({ ...t, name: prefix + t.name })) };
});
server.setRequestHandler("tools/call", async (request) => {
  const { name: full, arguments: args } = request.params;
  if (!full.startsWith(prefix)) throw new Error(`unknown tool ${full}`);
  return client.callTool({ name: full.slice(prefix.length), arguments: args });
});
const transport = new StdioServerTransport();
transport.onclose = () => void client.close().finally(() => process.exit(0));
await server.connect(transport);
