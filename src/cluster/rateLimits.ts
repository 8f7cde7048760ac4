import type { RateLimits, RateLimitStore, RateRefusal } from "../pipeline/middleware/rateLimit.js";
import type { ClusterState } from "./connection.js";

/**
 * Two token buckets (client, server) checked and taken together on Redis's clock: a token is taken from
 * both only when both have one. KEYS: client bucket, server bucket ("" slots are skipped via ARGV[1..2]).
 * ARGV: useClient, useServer, client rate, client burst, server rate, server burst.
 * Returns 0 (taken) or {1|2 (which refused), ms until a token}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, rate, burst)
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  return math.min(burst, tokens + (math.max(0, now - at) / 1000) * rate)
end
local levels = {}
for i = 1, 2 do
  if ARGV[i] == '1' then
    local rate = tonumber(ARGV[1 + i * 2])
    local burst = tonumber(ARGV[2 + i * 2])
    local tokens = level(KEYS[i], rate, burst)
    if tokens < 1 then return {i, math.max(1, math.ceil((1 - tokens) / rate * 1000))} end
    levels[i] = tokens
  end
end
for i = 1, 2 do
  if levels[i] then
    local rate = tonumber(ARGV[1 + i * 2])
    local burst = tonumber(ARGV[2 + i * 2])
    redis.call('HSET', KEYS[i], 'tokens', levels[i] - 1, 'at', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
  end
end
return 0`;

type Take = (...args: string[]) => Promise<unknown>;

/**
 * tools/call rate limits shared by every replica: one Lua script, one round trip per call (EVALSHA
 * through ioredis's defineCommand: the script's text is sent only when Redis does not know it yet).
 */
export class RedisRateLimits implements RateLimitStore {
  constructor(
    private readonly state: ClusterState,
    readonly limits: RateLimits,
  ) {
    state.redis.defineCommand("amcpRateTake", { numberOfKeys: 2, lua: TAKE });
  }

  async take(client: string | undefined, server: string): Promise<RateRefusal | undefined> {
    const c = this.limits.perClient;
    const s = this.limits.perServer;
    const reply = await this.state.call("rate limit", (r) =>
      (r as unknown as { amcpRateTake: Take }).amcpRateTake(
        this.state.key("rate", "client", client ?? ""),
        this.state.key("rate", "server", server),
        c ? "1" : "0",
        s ? "1" : "0",
        String(c?.requestsPerSecond ?? 1),
        String(c?.burst ?? 1),
        String(s?.requestsPerSecond ?? 1),
        String(s?.burst ?? 1),
      ),
    );
    if (!Array.isArray(reply)) return undefined;
    return { limit: reply[0] === 1 ? "client" : "server", retryAfterMs: Number(reply[1]) };
  }
}
