import { spawn } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, waitFor } from "../helpers/aggregator.js";
import { running } from "../helpers/resilience.js";

const PARENT = path.join(ROOT, "test", "fixtures", "watchdog-parent.mjs");
const GROUPS = path.join(ROOT, "dist", "downstream", "processGroups.js");

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

describe.skipIf(process.platform === "win32")("the orphan watchdog", () => {
  it("stops the groups still recorded when its parent dies, and leaves forgotten ones alone", async () => {
    const parent = spawn(process.execPath, [PARENT, GROUPS], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    parent.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      parent.once("exit", (_code, s) => resolve(s)),
    );
    expect(signal).toBe("SIGKILL");
    const { kept, forgotten, watchdog } = JSON.parse(out) as {
      kept: number;
      forgotten: number;
      watchdog: number;
    };
    started.push(kept, forgotten);
    expect(watchdog).toBeGreaterThan(0);
    await waitFor(() => !running(kept) && !running(watchdog), 10_000);
    // A group it was told to forget (stopped already, its id free for reuse) is never signalled.
    expect(running(forgotten)).toBe(true);
  });
});
