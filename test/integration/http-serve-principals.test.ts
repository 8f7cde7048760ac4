import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { isAggregatorError } from "../../src/errors.js";
import { createLogger } from "../../src/logger.js";
import { serve } from "../../src/serve.js";
import { INIT, post } from "../helpers/http-raw.js";

/** serve() in HTTP mode with config principals only (no CLI token): binding, start-up lines, bad tokens. */

const CI_TOKEN = "ci-token-0123456789abcdef";

function config(principals: unknown[]) {
  return parseConfig(
    JSON.stringify({ mcpServers: {}, http: { principals, allowedHosts: ["mcp.example.test"] } }),
    "servers.config.json",
  );
}

describe("serve with http.principals", () => {
  it("config principals are enough to bind a non-loopback address, and the Host line is said", async () => {
    const said: string[] = [];
    const running = await serve({
      loaded: config([{ name: "ci", token: "${CI_TOKEN}" }]),
      log: createLogger({ level: "silent" }),
      transport: "http",
      host: "0.0.0.0",
      port: 0,
      env: { CI_TOKEN },
      say: (line) => void said.push(line),
      watch: false,
    });
    try {
      expect(said.some((l) => l.includes("bound to 0.0.0.0:") && l.includes("mcp.example.test"))).toBe(true);
      const url = (running.url as string).replace("0.0.0.0", "127.0.0.1");
      expect((await post(url, {}, INIT)).status).toBe(401);
      expect((await post(url, { authorization: `Bearer ${CI_TOKEN}` }, INIT)).status).toBe(200);
      expect(running.http?.sessionsByPrincipal()).toEqual({ ci: 1 });
    } finally {
      await running.stop();
    }
  });

  it("a loopback bind says nothing about Host names", async () => {
    const said: string[] = [];
    const running = await serve({
      loaded: config([]),
      log: createLogger({ level: "silent" }),
      transport: "http",
      port: 0,
      say: (line) => void said.push(line),
      watch: false,
    });
    await running.stop();
    expect(said.filter((l) => l.includes("Host names"))).toEqual([]);
  });

  it("an unset token variable stops the start with CONFIG_INVALID naming the entry", async () => {
    const start = serve({
      loaded: config([{ name: "ci", token: "${CI_TOKEN_UNSET}" }]),
      log: createLogger({ level: "silent" }),
      transport: "http",
      port: 0,
      env: {},
      say: () => undefined,
      watch: false,
    });
    const error = await start.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAggregatorError(error, "CONFIG_INVALID")).toBe(true);
    expect((error as Error).message).toBe(
      "servers.config.json: http.principals[0].token: ${CI_TOKEN_UNSET} is not set",
    );
  });
});
