/** stderr for people (src/cli/terminal.ts): colours per NO_COLOR / FORCE_COLOR / TTY, progress vs lines. */
import { describe, expect, it } from "vitest";
import { colourEnabled, createTerminal, progressWriter, style } from "../../src/cli/terminal.js";

function sink(isTTY: boolean): { stream: { isTTY: boolean; write(t: string): void }; text: () => string } {
  let text = "";
  return { stream: { isTTY, write: (t: string) => void (text += t) }, text: () => text };
}

describe("terminal output", () => {
  it.each<[boolean, Record<string, string>, boolean]>([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [true, { NO_COLOR: "" }, true], // empty NO_COLOR is unset (no-color.org)
    [false, { FORCE_COLOR: "1" }, true],
    [true, { FORCE_COLOR: "0" }, false],
    [false, { FORCE_COLOR: "1", NO_COLOR: "1" }, false],
    [true, { TERM: "dumb" }, false],
  ])("colour on a TTY=%s with %j: %s", (isTTY, env, expected) => {
    expect(colourEnabled({ isTTY }, env)).toBe(expected);
  });

  it("styles are no-ops with colours off", () => {
    expect(style(false).red("x")).toBe("x");
    expect(style(true).red("x")).toBe("\x1b[31mx\x1b[39m");
  });

  it("clears the progress line before a line and draws it again below; done() keeps it, clear() removes it", () => {
    const out = sink(true);
    const t = createTerminal(out.stream, {});
    t.line("first");
    t.progress("servers connected 1/2");
    t.line("a log line\n");
    t.progress("servers connected 2/2");
    t.done();
    t.line("after");
    expect(out.text()).toBe(
      "first\n" +
        "\rservers connected 1/2\x1b[K" +
        "\r\x1b[Ka log line\n\rservers connected 1/2\x1b[K" +
        "\rservers connected 2/2\x1b[K" +
        "\n" +
        "after\n",
    );
    const other = sink(true);
    const u = createTerminal(other.stream, {});
    u.progress("connecting");
    u.clear();
    u.line("table");
    expect(other.text()).toBe("\rconnecting\x1b[K\r\x1b[Ktable\n");
  });

  it("draws no progress when not a TTY", () => {
    const out = sink(false);
    const t = createTerminal(out.stream, {});
    t.progress("servers connected 1/2");
    t.line("log");
    t.done();
    expect(out.text()).toBe("log\n");
  });

  it("turns serve's progress text into progress and ends it on the final newline", () => {
    const out = sink(true);
    const write = progressWriter(createTerminal(out.stream, {}));
    write("\rautonomous-mcp: servers connected 1/2 (a: ready)\x1b[K");
    write("\rautonomous-mcp: servers connected 2/2 (b: failed)\x1b[K\n");
    expect(out.text()).toBe(
      "\rautonomous-mcp: servers connected 1/2 (a: ready)\x1b[K\rautonomous-mcp: servers connected 2/2 (b: failed)\x1b[K\n",
    );
  });
});
