import { describe, expect, it, vi } from "vitest";
import type { ResolvedServer } from "../../src/config/load.js";
import { createLogger } from "../../src/logger.js";

const events: string[] = [];
let releaseSlow: () => void = () => undefined;

vi.mock("../../src/profiles/index.js", () => ({
  profileFor: (s: { name: string }) => {
    if (s.name === "slow")
      return {
        prepare: () =>
          new Promise<void>((resolve) => {
            events.push("slow: prepare started");
            releaseSlow = () => {
              events.push("slow: prepared");
              resolve();
            };
          }),
      };
    if (s.name === "broken") return { prepare: () => Promise.reject(new Error("no directory")) };
    return undefined;
  },
}));

vi.mock("../../src/downstream/transports.js", () => ({
  createStdioTransport: (s: { name: string }) => {
    events.push(`${s.name}: spawned`);
    return { transport: { start: () => Promise.resolve(), close: () => Promise.resolve() } };
  },
}));

const { prespawn } = await import("../../src/downstream/prespawn.js");

function server(name: string, extra: Partial<ResolvedServer> = {}): ResolvedServer {
  return { name, type: "stdio", command: "node", args: [], env: {}, ...extra } as unknown as ResolvedServer;
}

describe("prespawn", () => {
  it("spawns servers without a preparation step at once, and the others as soon as their own step is done", async () => {
    events.length = 0;
    const log = createLogger({ level: "silent" });
    const done = prespawn(
      [
        server("slow"),
        server("a"),
        server("broken"),
        server("skipped", { skipReason: "set TOKEN" }),
        server("remote", { type: "http", command: undefined }),
        server("b"),
      ],
      log,
    );
    // Nothing waited for the slow preparation: a and b were spawned in the same turn.
    expect(events).toEqual(["slow: prepare started", "a: spawned", "b: spawned"]);
    releaseSlow();
    const started = await done;
    expect(events).toEqual([
      "slow: prepare started",
      "a: spawned",
      "b: spawned",
      "slow: prepared",
      "slow: spawned",
    ]);
    // A failed preparation leaves the server to start normally (its connection reports the error).
    expect([...started.keys()].sort()).toEqual(["a", "b", "slow"]);
  });
});
