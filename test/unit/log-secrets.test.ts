import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { collectSecrets, createScrubber, CUT_MARK, cutText } from "../../src/secrets.js";
import type { ResolvedServer } from "../../src/config/load.js";
import { StderrLines } from "../../src/downstream/stderrLines.js";

/** A logger writing to memory through the scrubber of `secrets`, like the CLI's. */
function capture(secrets: string[]) {
  const lines: string[] = [];
  const log = createLogger({
    level: "debug",
    scrub: createScrubber(secrets),
    destination: { write: (s: string) => void lines.push(s) },
  });
  return { log, lines };
}

const server = (env: Record<string, string>) => ({ env, headers: {} }) as unknown as ResolvedServer;

describe("the log scrubber", () => {
  it("redacts a secret holding quotes and backslashes as it appears in a JSON log line", () => {
    const secret = 'pa"ss\\word-77';
    const { log, lines } = capture([secret]);
    log.debug({ stderr: `token=${secret}` }, "server stderr");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ stderr: "token=[redacted]" });
    expect(lines[0]).not.toContain(JSON.stringify(secret).slice(1, -1));
  });

  it("redacts it escaped twice too (a JSON text quoted inside a log field)", () => {
    const secret = 'pa"ss\\word-77';
    const { log, lines } = capture([secret]);
    log.warn({ err: JSON.stringify({ error: { message: `bad key ${secret}` } }) }, "call failed");
    const parsed = JSON.parse(lines[0] as string) as { err: string };
    expect(JSON.parse(parsed.err)).toEqual({ error: { message: "bad key [redacted]" } });
  });

  it("still redacts plain secrets and Bearer tokens", () => {
    const scrub = createScrubber(["plain-secret-1"]);
    expect(scrub("a plain-secret-1 b Bearer abcdefgh12345")).toBe("a [redacted] b Bearer [redacted]");
  });

  it("redacts the beginning of a secret left where a text was cut", () => {
    const secret = "cut-secret-9f8e7d";
    const scrub = createScrubber([secret]);
    const cut = cutText(`prefix ${secret} suffix`, 14); // "prefix cut-sec" + mark
    expect(cut).toBe(`prefix cut-sec${CUT_MARK}`);
    expect(scrub(cut)).toBe(`prefix [redacted]${CUT_MARK}`);
    // Nothing else before a cut is touched, and a text without a cut is left as it is.
    expect(scrub(cutText("nothing secret here at all", 10))).toBe(`nothing se${CUT_MARK}`);
    expect(cutText("short", 10)).toBe("short");
  });

  it("counts each line of a multi-line secret (a child logs it line by line)", () => {
    const pem = "-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\r\nEEEEFFFFGGGG\n-----END KEY-----";
    const secrets = collectSecrets([server({ KEY: pem, SHORT: "abc" })]);
    expect(secrets).toEqual(expect.arrayContaining([pem, "AAAABBBBCCCCDDDD", "EEEEFFFFGGGG"]));
    expect(secrets).not.toContain("abc");
    const scrub = createScrubber(secrets);
    expect(scrub("line: EEEEFFFFGGGG")).toBe("line: [redacted]");
  });
});

describe("a child's stderr, line by line", () => {
  const collect = (max?: number) => {
    const lines: string[] = [];
    return { lines, buffer: new StderrLines((l) => void lines.push(l), max) };
  };

  it("joins a line that arrives in several reads", () => {
    const { lines, buffer } = collect();
    buffer.push("the token is sec");
    expect(lines).toEqual([]);
    buffer.push("ret-value\nnext ");
    buffer.push("line\r\n\n   \n");
    expect(lines).toEqual(["the token is secret-value", "next line"]);
  });

  it("emits a last line without a newline when the stream ends", () => {
    const { lines, buffer } = collect();
    buffer.push("crashed: no newline");
    buffer.flush();
    buffer.flush();
    expect(lines).toEqual(["crashed: no newline"]);
  });

  it("cuts an over-long line at the bound and drops the rest of it, then goes on", () => {
    const { lines, buffer } = collect(10);
    buffer.push("0123456");
    buffer.push("789abcdef");
    buffer.push("ghij\nok\n");
    expect(lines).toEqual([`0123456789${CUT_MARK}`, "ok"]);
  });
});
