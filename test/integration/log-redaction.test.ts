import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";

/**
 * A child's stderr is relayed into our log (debug level). Secrets from the config must not reach it in
 * any form: not when the child's write of a secret arrives in two reads, not when the secret holds
 * characters that JSON escapes in the log line (`"` and `\`).
 */

const SPLIT = "split-secret-4d9e1f2a7b";
const QUOTED = 'quo"ted\\secret-88a1c';

/** The pieces a leak would show: the secret, its JSON-escaped form, and the halves the child wrote. */
function leaks(secret: string): string[] {
  const half = Math.floor(secret.length / 2);
  const escaped = JSON.stringify(secret).slice(1, -1);
  return [secret, escaped, secret.slice(0, half), secret.slice(half), escaped.slice(0, escaped.length / 2)];
}

let tmp: TempDir | undefined;
let h: StdioHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  await tmp?.cleanup();
  tmp = undefined;
});

describe("secrets in a child's stderr", () => {
  it("never reach our log, whether split across two reads or JSON-escaped", async () => {
    tmp = await tempDir("amcp-redact-");
    const entry = (name: string, secretEnv: string, secret: string) => ({
      ...faultServerEntry("normal", {
        [secretEnv]: secret,
        FAULT_STDERR_ENV: secretEnv,
        FAULT_LOG_FILE: path.join(tmp?.dir ?? "", `${name}.log.jsonl`),
      }),
      healthCheckIntervalMs: 0,
    });
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        split: entry("split", "SPLIT_SECRET", SPLIT),
        quoted: entry("quoted", "QUOTED_SECRET", QUOTED),
      },
    });
    h = await startStdio(config, { env: { AUTONOMOUS_MCP_LOG_LEVEL: "debug" } });
    const harness = h;
    const stderrLines = (): { server?: string; stderr?: string; msg?: string }[] =>
      harness
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { server?: string; stderr?: string; msg?: string })
        .filter((l) => l.msg === "server stderr");
    // Each child wrote its line in two writes 100 ms apart; wait until both lines were logged.
    await waitFor(
      () =>
        ["split", "quoted"].every((s) =>
          stderrLines().some((l) => l.server === s && /the value/.test(l.stderr ?? "")),
        ),
      15_000,
    );

    // Each line was logged once, whole, with the secret replaced (what a reader of the decoded line sees).
    for (const server of ["split", "quoted"])
      expect(
        stderrLines()
          .filter((l) => l.server === server)
          .map((l) => l.stderr),
      ).toEqual(["fault-server: the value is [redacted]"]);
    const log = h.stderr();
    for (const piece of [...leaks(SPLIT), ...leaks(QUOTED)]) expect(log).not.toContain(piece);
  });
});
