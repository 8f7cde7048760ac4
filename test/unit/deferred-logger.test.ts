import { describe, expect, it } from "vitest";
import { deferredLogger } from "../../src/deferredLogger.js";
import { createLogger } from "../../src/logger.js";

function capture(level: "debug" | "info" = "info") {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { log, lines };
}

describe("deferredLogger", () => {
  it("replays what was logged before pino existed, with the children's bindings and pino's level", () => {
    const early = deferredLogger();
    const child = early.logger.child({ server: "memory" });
    early.logger.warn({ a: 1 }, "before");
    child.debug({ stderr: "booting" }, "server stderr");
    child.warn({ line: "garbage" }, "dropped a line");
    const { log, lines } = capture("info");
    early.attach(log);
    expect(lines.map((l) => [l["msg"], l["server"], l["a"] ?? l["line"]])).toEqual([
      ["before", undefined, 1],
      ["dropped a line", "memory", "garbage"],
    ]);
    // After attach, a child made early forwards directly (and redaction still applies: it is pino's child).
    child.info({ token: "secret", n: 2 }, "after");
    expect(lines.at(-1)).toMatchObject({ msg: "after", server: "memory", n: 2, token: "[redacted]" });
    early.logger.child({ server: "github" }).error("late child");
    expect(lines.at(-1)).toMatchObject({ msg: "late child", server: "github" });
  });

  it("keeps a bounded number of lines before attach and says how many it dropped", () => {
    const early = deferredLogger();
    for (let i = 0; i < 1_005; i++) early.logger.info({ i }, "line");
    const { log, lines } = capture();
    early.attach(log);
    expect(lines).toHaveLength(1_001);
    expect(lines.at(-1)).toMatchObject({ msg: "log lines dropped before the logger was ready", dropped: 5 });
  });
});
