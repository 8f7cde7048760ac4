import { DownstreamConnection } from "/work/wt/gen/dist/downstream/connection.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import pino from "pino";
const log = pino({ level: "warn" }, pino.destination(2));
const fx = "/work/wt/gen/test/fixtures/v2-server.mjs";
for (const era of ["modern", "dual", "legacy"]) {
  const child = spawn(process.execPath, [fx, "--era", era, "--transport", "http"], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = await once(child.stdout, "data");
  const url = String(chunk).trim().split(" ")[1];
  const c = new DownstreamConnection(
    { name: era, type: "http", url, args: [], env: {}, headers: {},
      connectTimeoutMs: 10000, restart: { maxRestarts: 0, windowMs: 60000, initialDelayMs: 100, maxDelayMs: 100 }, healthCheckIntervalMs: 0 },
    { log, clientInfo: { name: "autonomous-mcp", version: "0" }, clientCapabilities: () => ({}), hooks: {} });
  await c.start();
  console.log(era, c.state, c.protocolVersion, c.modern, c.catalog.tools.map(t => t.name), c.catalog.prompts?.map(p=>p.name), c.lastError?.message);
  if (c.state === "ready") {
    const ac = new AbortController();
    console.log(JSON.stringify(await c.callTool(`echo_${era}`, { message: "hi" }, undefined, { signal: ac.signal, timeoutMs: 5000 }, Date.now() + 5000)));
    console.log(JSON.stringify(await c.send("prompts/get", { name: `greet_${era}`, arguments: {who: "x"} }, { signal: ac.signal, timeoutMs: 5000 }, Date.now() + 5000)));
    await c.reconnect("test");
    console.log("after reconnect", c.state, c.protocolVersion);
  }
  await c.close();
  child.kill();
}
