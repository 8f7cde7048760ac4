import { describe, expect, it } from "vitest";
import type { ClientCapabilities } from "@modelcontextprotocol/server";
import type { CallOrigin, FrontSessionHandle } from "../../src/front/backend.js";
import { RequestRelay } from "../../src/relay.js";

/** A front session that answers server→client requests with its own name and records what it was asked. */
function session(id: string, caps: ClientCapabilities): FrontSessionHandle & { asked: unknown[] } {
  const asked: unknown[] = [];
  return {
    id,
    asked,
    clientCapabilities: () => caps,
    notifyListChanged: () => undefined,
    notifyResourceUpdated: () => undefined,
    sendLog: () => undefined,
    isSubscribed: () => false,
    request: (request) => {
      asked.push(request);
      return Promise.resolve({ from: id });
    },
  };
}

function origin(sessionId: string, caps: ClientCapabilities): CallOrigin & { asked: unknown[] } {
  const asked: unknown[] = [];
  return {
    sessionId,
    asked,
    signal: new AbortController().signal,
    clientCapabilities: caps,
    requestClient: (request) => {
      asked.push(request);
      return Promise.resolve({ from: `${sessionId}-call` });
    },
  };
}

const SAMPLE = { method: "sampling/createMessage", params: { messages: [] } };
const never = new AbortController().signal;

describe("RequestRelay: a server→client request goes to the client that caused it, or fails", () => {
  it("routes a shared connection's request when all calls in flight come from one session", async () => {
    const relay = new RequestRelay();
    const a = session("a", { sampling: {} });
    const b = session("b", { sampling: {} });
    relay.addSession(a);
    relay.addSession(b);
    const call = origin("a", { sampling: {} });
    relay.track("srv", call);
    await expect(relay.relay("srv", "sampling", SAMPLE, never)).resolves.toEqual({ from: "a-call" });
    expect(b.asked).toEqual([]);
  });

  it("refuses a shared connection's request when calls of two sessions are in flight (never the newest)", async () => {
    const relay = new RequestRelay();
    const a = session("a", { sampling: {} });
    const b = session("b", { sampling: {} });
    relay.addSession(a);
    relay.addSession(b);
    const callA = origin("a", { sampling: {} });
    const callB = origin("b", { sampling: {} });
    relay.track("srv", callA);
    relay.track("srv", callB);
    await expect(relay.relay("srv", "sampling", SAMPLE, never)).rejects.toThrow(
      /calls from 2 client sessions are in flight.*"sessionMode": "per-client"/,
    );
    expect([...a.asked, ...b.asked, ...callA.asked, ...callB.asked]).toEqual([]);
    // Once B's call ends, A's call is the only one: its request is routed again.
    relay.untrack("srv", callB);
    await expect(relay.relay("srv", "sampling", SAMPLE, never)).resolves.toEqual({ from: "a-call" });
  });

  it("refuses when the caller lacks the capability, even if another client has it", async () => {
    const relay = new RequestRelay();
    relay.addSession(session("rich", { sampling: {} }));
    relay.addSession(session("plain", {}));
    relay.track("srv", origin("plain", {}));
    await expect(relay.relay("srv", "sampling", SAMPLE, never)).rejects.toThrow(
      /the client whose call caused it does not support sampling/,
    );
  });

  it("refuses with no call in flight and several sessions; routes to the only session (stdio)", async () => {
    const relay = new RequestRelay();
    const only = session("only", { roots: {} });
    relay.addSession(only);
    await expect(relay.relay("srv", "roots", { method: "roots/list" }, never)).resolves.toEqual({
      from: "only",
    });
    relay.addSession(session("second", { roots: {} }));
    await expect(relay.relay("srv", "roots", { method: "roots/list" }, never)).rejects.toThrow(
      /no call to srv is in flight/,
    );
  });

  it("routes a per-client connection's request to its own session only", async () => {
    const relay = new RequestRelay();
    const a = session("a", { elicitation: {} });
    const b = session("b", { elicitation: {} });
    relay.addSession(a);
    relay.addSession(b);
    // B's call to the same server is newer: it must not matter.
    relay.track("srv", origin("b", { elicitation: {} }));
    await expect(
      relay.relayToSession("srv", "a", "elicitation", { method: "elicitation/create" }, never),
    ).resolves.toEqual({ from: "a" });
    expect(b.asked).toEqual([]);
    relay.removeSession("a");
    await expect(
      relay.relayToSession("srv", "a", "elicitation", { method: "elicitation/create" }, never),
    ).rejects.toThrow(/the client session it belongs to has closed/);
  });
});
