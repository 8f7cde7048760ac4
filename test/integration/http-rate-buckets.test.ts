import { Agent, request } from "node:http";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/logger.js";
import { serve } from "../../src/serve.js";
import { openSession, PROTOCOL } from "../helpers/http-raw.js";

/**
 * Random session ids must not grow the HTTP front's rate-limit state: an id the front does not know
 * (or that belongs to another principal) is answered 404 without a bucket of its own. The real front,
 * in process, so that its bucket count can be read.
 */

const TOKEN = "bucket-token-0123456789";
/** Over HTTP 10,000 (about 6 s here); RateLimiter's own LRU bound is tested with 100,000 in test/unit. */
const IDS = 10_000;

function ping(agent: Agent, url: string, session: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": session,
          "mcp-protocol-version": PROTOCOL,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end('{"jsonrpc":"2.0","id":1,"method":"ping"}');
  });
}

describe("HTTP front rate-limit buckets", () => {
  it(`${IDS.toLocaleString("en")} random session ids leave the bucket map bounded`, async () => {
    let logged = "";
    const log = createLogger({
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logged += chunk.toString("utf8");
          done();
        },
      }),
    });
    const loaded = parseConfig(
      JSON.stringify({
        mcpServers: {},
        http: { rateLimit: { requestsPerSecond: 1_000_000, burst: 1_000_000 } },
      }),
      "servers.config.json",
    );
    const running = await serve({
      loaded,
      log,
      transport: "http",
      port: 0,
      authToken: TOKEN,
      say: () => undefined,
      watch: false,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    try {
      const url = running.url as string;
      const http = running.http!;
      const own = await openSession(url, TOKEN);
      expect(await ping(agent, url, own)).toBe(200);
      const statuses = new Map<number, number>();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < IDS) {
          next++;
          const status = await ping(agent, url, randomUUID());
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      expect(Object.fromEntries(statuses)).toEqual({ 404: IDS });
      // One bucket for the principal, one for its session: nothing per unknown id.
      expect(http.rateLimitBuckets).toBeLessThanOrEqual(2);
      expect(await ping(agent, url, own)).toBe(200);
      expect(logged).not.toContain('"level":50');
    } finally {
      agent.destroy();
      await running.stop();
    }
  }, 60_000);
});
