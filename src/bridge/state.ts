import { randomBytes } from "node:crypto";
import {
  createRequestStateCodec,
  ProtocolError,
  ProtocolErrorCode,
  type RequestStateCodec,
} from "@modelcontextprotocol/server";
import { expandString, type EnvSource } from "../config/expand.js";
import { AggregatorError } from "../errors.js";

/** Environment variable holding the requestState key (wins over `security.requestStateKey`). */
export const STATE_KEY_ENV = "AUTONOMOUS_MCP_STATE_KEY";
/** The SDK codec's floor: an HMAC-SHA256 key of at least 256 bits. */
const MIN_KEY_BYTES = 32;

/** Where the key came from: said once in the log at start (never the key). */
export type StateKeySource = "option" | "env" | "config" | "random";

/**
 * The key our sealed requestState is signed with: the `requestStateKey` option (cluster mode passes one
 * key shared by every replica), else AUTONOMOUS_MCP_STATE_KEY, else `security.requestStateKey` (`${VAR}`
 * expanded), else 32 random bytes made at start — then only this process can resume an exchange.
 */
export function resolveStateKey(
  option: Uint8Array | undefined,
  configured: string | undefined,
  env: EnvSource,
): { key: Uint8Array; source: StateKeySource } {
  if (option !== undefined) return { key: checked(option, "the requestStateKey option"), source: "option" };
  const fromEnv = env[STATE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "")
    return { key: checked(utf8(fromEnv), STATE_KEY_ENV), source: "env" };
  if (configured !== undefined) {
    const { value, unresolved } = expandString(configured, env);
    if (unresolved.length > 0)
      throw new AggregatorError(
        "CONFIG_INVALID",
        `security.requestStateKey: ${unresolved.map((v) => `\${${v}}`).join(", ")} is not set`,
      );
    return { key: checked(utf8(value), "security.requestStateKey"), source: "config" };
  }
  return { key: randomBytes(MIN_KEY_BYTES), source: "random" };
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function checked(key: Uint8Array, where: string): Uint8Array {
  if (key.byteLength < MIN_KEY_BYTES)
    throw new AggregatorError(
      "CONFIG_INVALID",
      `${where}: the requestState key must be at least ${MIN_KEY_BYTES} bytes (got ${key.byteLength}); e.g. openssl rand -base64 48`,
    );
  return key;
}

/**
 * What our requestState carries (signed, not encrypted: the client can read it, so nothing secret):
 *
 * - `pass`: a modern server's input_required passed through: the server `s`, the request (`m` method,
 *   `n` tool / prompt name or resource URI as the client named it) and the server's own requestState `d`;
 * - `held`: a call held by this process while a 2025-era server waits for the client's input (`h` its id).
 */
export type BridgeState =
  | { readonly k: "pass"; readonly s: string; readonly m: string; readonly n: string; readonly d?: string }
  | { readonly k: "held"; readonly h: string; readonly m: string; readonly n: string };

/** The verified payload as a BridgeState (a key-holder's malformed payload is refused like a bad MAC). */
export function bridgeState(value: unknown): BridgeState | undefined {
  if (value === undefined) return undefined;
  const v = value as Record<string, unknown> | null;
  const str = (x: unknown): x is string => typeof x === "string";
  if (
    v &&
    v["k"] === "pass" &&
    str(v["s"]) &&
    str(v["m"]) &&
    str(v["n"]) &&
    (v["d"] === undefined || str(v["d"]))
  )
    return v as BridgeState;
  if (v && v["k"] === "held" && str(v["h"]) && str(v["m"]) && str(v["n"])) return v as BridgeState;
  throw invalidState("malformed");
}

/**
 * A requestState that verified but that we cannot accept (-32602): the SDK's frozen words for a state that
 * fails verification, followed by our reason (also in `data.detail`).
 */
export function invalidState(reason: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid or expired requestState: ${reason}`, {
    reason: "invalid_request_state",
    detail: reason,
  });
}

/**
 * One codec per principal: the SDK's HMAC codec (createRequestStateCodec) bound to the request's method
 * and the principal that called, so a state minted for one client is refused from another (and a
 * tools/call state from a prompts/get).
 */
export class StateCodecs {
  private readonly codecs = new Map<string, RequestStateCodec<BridgeState>>();

  constructor(
    private readonly key: Uint8Array,
    private readonly ttlMs: number,
  ) {}

  of(principal: string | undefined): RequestStateCodec<BridgeState> {
    const who = principal ?? "";
    let codec = this.codecs.get(who);
    if (!codec) {
      codec = createRequestStateCodec<BridgeState>({
        key: this.key,
        ttlSeconds: Math.max(1, Math.ceil(this.ttlMs / 1000)),
        bind: (ctx) => `${ctx.mcpReq.method}\0${who}`,
      });
      this.codecs.set(who, codec);
    }
    return codec;
  }
}
