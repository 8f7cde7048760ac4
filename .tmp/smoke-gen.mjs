import { DownstreamConnection } from "/work/wt/gen/dist/downstream/connection.js";
import pino from "pino";
const log = pino({ level: "warn" }, pino.destination(2));
const fx = "/work/wt/gen/test/fixtures/v2-server.mjs";
for (const era of ["modern", "dual", "legacy", "future"]) {
  const c = new DownstreamConnection(
    { name: era, type: "stdio", command: process.execPath, args: [fx, "--era", era], env: {}, headers: {},
      connectTimeoutMs: 10000, restart: { maxRestarts: 0, windowMs: 60000, initialDelayMs: 100, maxDelayMs: 100 }, healthCheckIntervalMs: 0 },
    { log, clientInfo: { name: "autonomous-mcp", version: "0" }, clientCapabilities: () => ({}), hooks: {} });
  const t = Date.now();
  await c.start();
  console.log(era, c.state, c.protocolVersion, c.modern, c.catalog.tools.map(t => t.name), c.lastError?.message, Date.now() - t);
  if (c.state === "ready") {
    const ac = new AbortController();
    console.log(JSON.stringify(await c.callTool(`echo_${era}`, { message: "hi" }, undefined, { signal: ac.signal, timeoutMs: 5000 }, Date.now() + 5000)));
    console.log(JSON.stringify(await c.send("resources/read", { uri: `v2://${era}/hello` }, { signal: ac.signal, timeoutMs: 5000 }, Date.now() + 5000)));
  }
  await c.close();
}
