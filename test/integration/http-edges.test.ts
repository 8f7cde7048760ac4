import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttp, tempDir, writeConfig, type HttpHarness, type TempDir } from "../helpers/aggregator.js";
import { INIT, post, rawRequest, send } from "../helpers/http-raw.js";

/**
 * The HTTP front's answers at its edges: malformed request targets and methods (404/405, never 500),
 * a front bound to 0.0.0.0 (the start-up Host line, /healthz for probes by pod IP, /mcp strict), and
 * the 401 hint. The built CLI; raw sockets for what URL-based clients cannot send.
 */

const TOKEN = "edge-token-0123456789abc";

describe("HTTP front edges (bound to 0.0.0.0 with a token)", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let port: number;
  let local: string;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, {
      mcpServers: {},
      http: { allowedHosts: ["mcp.internal.example"] },
    });
    h = await startHttp(config, { env: { AUTONOMOUS_MCP_TOKEN: TOKEN }, args: ["--host", "0.0.0.0"] });
    port = Number(new URL(h.url).port);
    local = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("says at start-up which Host names are accepted and how to add more", () => {
    const lines = h.stderr().split("\n");
    const hostLine = lines.findIndex((l) => l.startsWith("autonomous-mcp: bound to 0.0.0.0:"));
    expect(lines[hostLine]).toBe(
      "autonomous-mcp: bound to 0.0.0.0: the MCP endpoint and /readyz, /metrics accept only the Host names localhost, 127.0.0.1, [::1], mcp.internal.example (any port); a request naming any other host (the machine's IP or DNS name, a pod IP, a proxy's name) gets 403 — add names with --allowed-host NAME or http.allowedHosts. /healthz answers any Host.",
    );
    expect(hostLine).toBeLessThan(lines.findIndex((l) => l.includes("listening on")));
  });

  it("answers /healthz whatever the Host (probes by pod IP) and keeps /mcp and /readyz strict", async () => {
    const podIp = { host: `10.1.2.3:${port}` };
    const health = await send(`${local}/healthz`, "GET", podIp);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: "ok" });
    expect((await send(`${local}/healthz`, "HEAD", podIp)).status).toBe(200);
    const mcp = await post(`${local}/mcp`, { ...podIp, authorization: `Bearer ${TOKEN}` }, INIT);
    expect(mcp.status).toBe(403);
    expect(JSON.parse(mcp.body).error.message).toBe(
      "Forbidden: Host header not allowed; to accept this host name, add it with --allowed-host NAME or http.allowedHosts",
    );
    expect(
      (await send(`${local}/readyz`, "GET", { ...podIp, authorization: `Bearer ${TOKEN}` })).status,
    ).toBe(403);
    // A name from http.allowedHosts passes the Host check (and then needs the token).
    const named = { host: `mcp.internal.example:${port}` };
    expect((await post(`${local}/mcp`, named, INIT)).status).toBe(401);
    const ok = await post(`${local}/mcp`, { ...named, authorization: `Bearer ${TOKEN}` }, INIT);
    expect(ok.status).toBe(200);
  });

  it("answers 401 with WWW-Authenticate: Bearer and a hint for mcp-remote users when no bearer token is sent", async () => {
    for (const authorization of [undefined, `Basic ${TOKEN}`, "Bearer "]) {
      const res = await post(`${local}/mcp`, authorization ? { authorization } : {}, INIT);
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="autonomous-mcp"');
      expect(JSON.parse(res.body)).toEqual({
        jsonrpc: "2.0",
        error: {
          code: -32000,
          message:
            'Unauthorized: this server needs a bearer token. Send the header "Authorization: Bearer <token>" (mcp-remote: add --header "Authorization: Bearer <token>"; other clients: set it in the server\'s headers)',
        },
        id: null,
      });
    }
  });

  it("answers 401 saying the token was not accepted when a wrong bearer token is sent", async () => {
    for (const authorization of ["Bearer wrong-token-000000", `bearer ${TOKEN}x`]) {
      const res = await post(`${local}/mcp`, { authorization }, INIT);
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="autonomous-mcp", error="invalid_token"');
      expect(JSON.parse(res.body)).toEqual({
        jsonrpc: "2.0",
        error: {
          code: -32000,
          message:
            "Unauthorized: the bearer token was not accepted: it is not the token this server was started with (--auth-token, AUTONOMOUS_MCP_TOKEN, or one of http.principals); check for a typo or an old token",
        },
        id: null,
      });
      expect(res.body).not.toContain("wrong-token");
    }
  });

  it("answers malformed request targets with 404, never 500", async () => {
    const targets = ["//", "/%", "/%zz", "//mcp", "///", "/mcp/../healthz", "/\\", "*", "http://[zz/"];
    for (const target of targets) {
      const res = await rawRequest(
        port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}`,
      );
      expect({ target, status: res.status }).toEqual({ target, status: 404 });
      expect(res.text).toMatch(
        /\{"jsonrpc":"2\.0","error":\{"code":-32000,"message":"Not found[^"]*"\},"id":null\}/,
      );
    }
    expect(h.stderr()).not.toContain('"level":50');
  });

  it("answers other methods on /mcp with 405 and Allow: GET, POST, DELETE; on routes with Allow: GET, HEAD", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const method of ["PUT", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "SEARCH", "PURGE", "LOCK"]) {
      const res = await send(`${local}/mcp`, method, auth);
      expect({ method, status: res.status, allow: res.headers["allow"] }).toEqual({
        method,
        status: 405,
        allow: "GET, POST, DELETE",
      });
      if (method !== "HEAD")
        expect(JSON.parse(res.body).error.message).toBe("Method not allowed: use GET, POST, DELETE");
    }
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const res = await send(`${local}${path}`, "POST", auth, "{}");
      expect({ path, status: res.status, allow: res.headers["allow"] }).toEqual({
        path,
        status: 405,
        allow: "GET, HEAD",
      });
    }
    expect(h.stderr()).not.toContain('"level":50');
  });
});
