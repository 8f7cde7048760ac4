import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { startHttp, tempDir, writeConfig, type HttpHarness, type TempDir } from "../helpers/aggregator.js";

/** /dashboard on the HTTP front itself (not only on --dashboard-port): same token, same Host checks. */
describe("dashboard on the HTTP front", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  const token = "front-dashboard-token-1234567890";
  let base: string;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { fault: faultServerEntry("normal") } });
    h = await startHttp(config, { args: ["--auth-token", token] });
    base = h.url.replace(/\/mcp$/, "");
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("refuses a request without the token and serves the page and its state with it", async () => {
    const denied = await fetch(`${base}/dashboard/state.json`);
    expect(denied.status).toBe(401);
    const page = await fetch(`${base}/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const state = await fetch(`${base}/dashboard/state.json`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(state.status).toBe(200);
    const body = (await state.json()) as { servers: { name: string }[] };
    expect(body.servers.map((s) => s.name)).toContain("fault");
  });

  it("refuses a foreign Host like the MCP endpoint does", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/dashboard`, {
        headers: { authorization: `Bearer ${token}`, host: "evil.example:80" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it("leaves the MCP endpoint as it was: the token is still required there", async () => {
    const res = await fetch(h.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(401);
  });
});
