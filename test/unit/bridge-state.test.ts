/**
 * The bridge's requestState key, codecs and held-call table (src/bridge/): every bad key is refused at
 * start with a clear error; states are bound to the principal and the method; the held-call table is
 * bounded and each held call times out, cancelling its call and refusing the server's pending request.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerContext } from "@modelcontextprotocol/server";
import { HeldCall, HeldCalls } from "../../src/bridge/held.js";
import { bridgeState, resolveStateKey, StateCodecs, STATE_KEY_ENV } from "../../src/bridge/state.js";
import type { CallOrigin } from "../../src/front/backend.js";

const KEY = "k".repeat(32);
const ctx = (method: string): ServerContext => ({ mcpReq: { method } }) as unknown as ServerContext;

describe("requestState key", () => {
  it("takes the option, then the environment, then the config (expanded), else random", () => {
    const option = new Uint8Array(40).fill(7);
    expect(resolveStateKey(option, KEY, { [STATE_KEY_ENV]: KEY }).source).toBe("option");
    expect(resolveStateKey(undefined, "c".repeat(32), { [STATE_KEY_ENV]: KEY })).toEqual({
      key: new TextEncoder().encode(KEY),
      source: "env",
    });
    expect(resolveStateKey(undefined, "${MY_KEY}", { MY_KEY: KEY })).toEqual({
      key: new TextEncoder().encode(KEY),
      source: "config",
    });
    const a = resolveStateKey(undefined, undefined, {});
    const b = resolveStateKey(undefined, undefined, {});
    expect(a.source).toBe("random");
    expect(a.key.byteLength).toBe(32);
    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).toBe(false);
  });

  it("refuses a key under 32 bytes wherever it comes from, naming where", () => {
    expect(() => resolveStateKey(new Uint8Array(31), undefined, {})).toThrow(
      /the requestStateKey option: the requestState key must be at least 32 bytes \(got 31\)/,
    );
    expect(() => resolveStateKey(undefined, undefined, { [STATE_KEY_ENV]: "short" })).toThrow(
      /AUTONOMOUS_MCP_STATE_KEY: the requestState key must be at least 32 bytes \(got 5\)/,
    );
    expect(() => resolveStateKey(undefined, "too short", {})).toThrow(
      /security\.requestStateKey: the requestState key must be at least 32 bytes \(got 9\)/,
    );
  });

  it("refuses a config key whose variable is not set", () => {
    expect(() => resolveStateKey(undefined, "${NOT_SET_KEY}", {})).toThrow(
      /security\.requestStateKey: \$\{NOT_SET_KEY\} is not set/,
    );
  });
});

describe("state codecs", () => {
  const payload = { k: "pass", s: "srv", m: "tools/call", n: "srv_tool", d: "theirs" } as const;

  it("a state verifies for the same principal and method only", async () => {
    const codecs = new StateCodecs(new TextEncoder().encode(KEY), 60_000);
    const state = await codecs.of("alice").mint(payload, ctx("tools/call"));
    await expect(codecs.of("alice").verify(state, ctx("tools/call"))).resolves.toEqual(payload);
    await expect(codecs.of("bob").verify(state, ctx("tools/call"))).rejects.toThrow("bind");
    await expect(codecs.of(undefined).verify(state, ctx("tools/call"))).rejects.toThrow("bind");
    await expect(codecs.of("alice").verify(state, ctx("prompts/get"))).rejects.toThrow("bind");
  });

  it("another process's random key does not verify ours", async () => {
    const ours = new StateCodecs(resolveStateKey(undefined, undefined, {}).key, 60_000);
    const theirs = new StateCodecs(resolveStateKey(undefined, undefined, {}).key, 60_000);
    const state = await theirs.of(undefined).mint(payload, ctx("tools/call"));
    await expect(ours.of(undefined).verify(state, ctx("tools/call"))).rejects.toThrow("mac");
  });

  it("a verified payload of another shape is refused as -32602 naming the reason", () => {
    expect(bridgeState(undefined)).toBeUndefined();
    expect(bridgeState(payload)).toEqual(payload);
    expect(() => bridgeState({ k: "pass", s: 1 })).toThrow(/Invalid or expired requestState: malformed/);
    expect(() => bridgeState("text")).toThrow(/Invalid or expired requestState/);
  });
});

describe("held calls", () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const origin = (): CallOrigin => ({
    sessionId: "s",
    signal: new AbortController().signal,
    clientCapabilities: { elicitation: {} },
  });

  /** A call that asks the client once, then returns what it got. */
  function asking(held: HeldCall): { result: Promise<unknown> } {
    let resolve: (v: unknown) => void = () => undefined;
    const result = new Promise((r) => (resolve = r));
    held.run(async (o) => {
      try {
        const answer = await o.requestClient?.(
          { method: "elicitation/create", params: { message: "m" } },
          new AbortController().signal,
        );
        resolve(answer);
        return { content: [{ type: "text", text: JSON.stringify(answer) }] };
      } catch (error) {
        resolve(error); // the server's request was refused: what it got instead of an answer
        throw error;
      }
    });
    return { result };
  }

  it("a round yields the server's request; the retry's answer goes to it; the result ends the call", async () => {
    const held = new HeldCall(origin(), "t", "tools/call");
    const { result } = asking(held);
    const step = await held.step(origin(), () => "id-1");
    expect(step).toEqual({
      kind: "asks",
      id: "id-1",
      inputRequests: { "elicitation-1": { method: "elicitation/create", params: { message: "m" } } },
    });
    held.answer({ "elicitation-1": { action: "accept", content: { a: 1 } } });
    expect(await result).toEqual({ action: "accept", content: { a: 1 } });
    const done = await held.step(origin(), () => "id-2");
    expect(done.kind).toBe("done");
  });

  it("a retry without the answer refuses the server's request, naming it", async () => {
    const held = new HeldCall(origin(), "t", "tools/call");
    let failure: unknown;
    held.run(async (o) => {
      try {
        await o.requestClient?.({ method: "elicitation/create", params: {} }, new AbortController().signal);
      } catch (error) {
        failure = error;
      }
      return {};
    });
    await held.step(origin(), () => "id");
    held.answer({});
    await held.step(origin(), () => "id2");
    expect(String(failure)).toMatch(/the client sent no answer to elicitation\/create \('elicitation-1'\)/);
  });

  it("a client without the capability: -32021, and the call is cancelled", async () => {
    const held = new HeldCall({ ...origin(), clientCapabilities: {} }, "t", "tools/call");
    asking(held);
    const step = await held.step(origin(), () => "id");
    expect(step.kind).toBe("failed");
    expect(step.kind === "failed" && step.error).toMatchObject({ code: -32021 });
    expect(held.signal.aborted).toBe(true);
  });

  it("the table is bounded; a held call times out, cancelling the call and its pending request", async () => {
    const table = new HeldCalls(1, 5_000);
    const first = new HeldCall(origin(), "t", "tools/call");
    const { result } = asking(first);
    const step = await first.step(origin(), () => "one");
    expect(step.kind).toBe("asks");
    expect(table.hold("one", first)).toBe(true);
    expect(table.hold("two", new HeldCall(origin(), "t", "tools/call"))).toBe(false);
    expect(table.size).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(table.get("one")).toBeUndefined();
    expect(first.signal.aborted).toBe(true);
    expect(String(first.signal.reason)).toMatch(
      /did not answer within 5000 ms \(bridge\.heldCallTimeoutMs\)/,
    );
    expect(String(await result)).toMatch(/did not answer within 5000 ms/);
  });

  it("a retry takes the call out of the table (one retry per state) and stops its timer", async () => {
    const table = new HeldCalls(4, 5_000);
    const held = new HeldCall(origin(), "t", "tools/call");
    asking(held);
    await held.step(origin(), () => "x");
    table.hold("x", held);
    expect(table.take("x")).toBe(held);
    expect(table.take("x")).toBeUndefined();
    vi.advanceTimersByTime(10_000);
    expect(held.signal.aborted).toBe(false);
  });

  it("cancelling the round's request cancels the call", async () => {
    const held = new HeldCall(origin(), "t", "tools/call");
    held.run(() => new Promise(() => undefined)); // runs until cancelled
    const request = new AbortController();
    const step = held.step({ ...origin(), signal: request.signal }, () => "id");
    request.abort(new Error("client cancelled"));
    expect(held.signal.aborted).toBe(true);
    void step;
  });
});
