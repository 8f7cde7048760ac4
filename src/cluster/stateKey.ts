import { randomBytes } from "node:crypto";
import type { ClusterState } from "./connection.js";

/** Bytes of the requestState sealing key (the SDK's createRequestStateCodec wants at least 32). */
export const STATE_KEY_BYTES = 32;

/**
 * The key that seals requestState, the same on every replica: the first replica to start writes a
 * random one (SET NX: never overwritten, never expires), every other replica reads that one. One round
 * trip (`SET key value NX GET` answers the value already there, or nil when ours was written).
 */
export async function sharedRequestStateKey(
  state: ClusterState,
  proposal: Uint8Array = randomBytes(STATE_KEY_BYTES),
): Promise<Uint8Array> {
  const mine = Buffer.from(proposal).toString("base64");
  const existing = await state.call("requestState key", (r) =>
    r.set(state.key("requestStateKey"), mine, "NX", "GET"),
  );
  const key = Buffer.from(existing ?? mine, "base64");
  if (key.length < STATE_KEY_BYTES)
    throw new Error(
      `the requestState key in Redis (${state.key("requestStateKey")}) is shorter than 32 bytes`,
    );
  return new Uint8Array(key);
}

/**
 * After a reconnect: writes the key this replica uses back if Redis lost it (restarted without
 * persistence), so a replica starting later reads the same one. A different key there (another replica
 * wrote one first) is logged: exchanges sealed by one cannot be resumed by the other until restart.
 */
export async function reassertRequestStateKey(
  state: ClusterState,
  key: Uint8Array,
  warn: (message: string) => void,
): Promise<void> {
  const now = await sharedRequestStateKey(state, key);
  if (!Buffer.from(now).equals(Buffer.from(key)))
    warn(
      "the shared requestState key in Redis differs from this replica's (Redis lost it and another replica wrote a new one): restart this replica to use it",
    );
}
