import { createHash } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { SharedCacheStore } from "../pipeline/middleware/cacheShare.js";
import type { ClusterState } from "./connection.js";

/**
 * Stores an entry only while the server's generation is the one read with the lookup (no write to the
 * server started or ended since), and indexes it under the server for invalidation.
 * KEYS: generation, entry, index. ARGV: generation read, value, ttl ms.
 */
const SET = `
local gen = redis.call('GET', KEYS[1]) or '0'
if gen ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return 1`;

/** Moves the server's generation and deletes its entries. KEYS: generation, index. */
const INVALIDATE = `
redis.call('INCR', KEYS[1])
local keys = redis.call('SMEMBERS', KEYS[2])
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[2])
return #keys`;

/**
 * The result cache shared by every replica (cluster mode): `cache:<server>:e:<hash>` entries with the
 * tool's TTL, an index set per server, and a generation per server. A lookup is one round trip (MGET
 * entry + generation), a store one (Lua), an invalidation one (Lua: nothing half-dropped).
 */
export class RedisCacheStore implements SharedCacheStore {
  constructor(private readonly state: ClusterState) {}

  private keys(server: string): { gen: string; index: string } {
    return { gen: this.state.key("cache", server, "gen"), index: this.state.key("cache", server, "idx") };
  }

  private entryKey(server: string, key: string): string {
    return this.state.key("cache", server, "e", createHash("sha256").update(key).digest("base64url"));
  }

  async get(key: string, server: string): Promise<{ result?: CallToolResult; generation: string }> {
    const [value, gen] = await this.state.call("cache", (r) =>
      r.mget(this.entryKey(server, key), this.keys(server).gen),
    );
    const generation = gen ?? "0";
    return value ? { result: JSON.parse(value) as CallToolResult, generation } : { generation };
  }

  async set(
    key: string,
    server: string,
    result: CallToolResult,
    ttlMs: number,
    generation: string,
  ): Promise<void> {
    const { gen, index } = this.keys(server);
    await this.state.call("cache", (r) =>
      r.eval(
        SET,
        3,
        gen,
        this.entryKey(server, key),
        index,
        generation,
        JSON.stringify(result),
        String(ttlMs),
      ),
    );
  }

  async invalidate(server: string): Promise<void> {
    const { gen, index } = this.keys(server);
    await this.state.call("cache invalidation", (r) => r.eval(INVALIDATE, 2, gen, index));
  }
}
