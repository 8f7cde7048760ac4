import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { progressText, slowText, watchProgress } from "../../src/commands/progress.js";
import { StartupState } from "../../src/startup.js";

function config(graceMs = 3_000) {
  return parseConfig(
    JSON.stringify({
      startup: { graceMs },
      mcpServers: {
        memory: { command: "memory-mcp" },
        hang: { command: "hang-mcp", connectTimeoutMs: 30_000 },
        slow: { command: "slow-mcp", connectTimeoutMs: 60_000 },
        off: { command: "off-mcp", enabled: false },
      },
    }),
    "progress-test.json",
    { env: {} },
  );
}

describe("doctor/tools start-up progress", () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it("names the servers still being waited for, redrawn every second", () => {
    const startup = new StartupState();
    const lines: string[] = [];
    const stop = watchProgress(startup, config(), { progress: (t) => lines.push(t) });
    startup.changed("memory", "ready");
    expect(lines.at(-1)).toBe("autonomous-mcp: servers connected 1/3 — waiting for hang, slow (0 s)");
    vi.advanceTimersByTime(12_000);
    expect(lines.at(-1)).toBe("autonomous-mcp: servers connected 1/3 — waiting for hang, slow (12 s)");
    expect(lines.length).toBeGreaterThanOrEqual(13);
    startup.changed("slow", "failed");
    expect(lines.at(-1)).toBe("autonomous-mcp: servers connected 2/3 — waiting for hang (12 s)");
    startup.changed("hang", "ready");
    expect(lines.at(-1)).toBe("autonomous-mcp: servers connected 3/3");
    // Everything settled: no more redraws.
    const drawn = lines.length;
    vi.advanceTimersByTime(5_000);
    expect(lines.length).toBe(drawn);
    stop();
  });

  it("says once, after the start-up grace, who is still being waited for and their connect timeouts", () => {
    const startup = new StartupState();
    const said: string[] = [];
    watchProgress(startup, config(3_000), { slow: (l) => said.push(l) });
    startup.changed("memory", "ready");
    vi.advanceTimersByTime(2_999);
    expect(said).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(said).toEqual([
      "autonomous-mcp: after 3 s still waiting for hang (connect timeout 30 s), slow (connect timeout 60 s); the report follows when they answer or time out",
    ]);
    vi.advanceTimersByTime(60_000);
    expect(said).toHaveLength(1);
  });

  it("says nothing extra when every server settled within the grace, or when stopped", () => {
    const startup = new StartupState();
    const said: string[] = [];
    watchProgress(startup, config(3_000), { slow: (l) => said.push(l) });
    for (const name of ["memory", "hang", "slow"]) startup.changed(name, "ready");
    vi.advanceTimersByTime(10_000);
    expect(said).toEqual([]);

    const again = new StartupState();
    const stop = watchProgress(again, config(3_000), { slow: (l) => said.push(l) });
    stop();
    vi.advanceTimersByTime(10_000);
    expect(said).toEqual([]);
  });

  it("shortens a long list of names", () => {
    expect(progressText(0, 5, ["a", "b", "c", "d", "e"], 1_500)).toBe(
      "autonomous-mcp: servers connected 0/5 — waiting for a, b, c and 2 more (1 s)",
    );
    expect(slowText([{ name: "x", connectTimeoutMs: 1_500 }], 3_000)).toMatch(
      /after 3 s still waiting for x \(connect timeout 2 s\)/,
    );
  });
});
