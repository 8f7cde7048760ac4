/** The audit log (src/audit/): JSON lines fed by the observe layer's call events, rotated by size. */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../src/audit/log.js";
import { CallFeed } from "../../src/callFeed.js";
import { parseConfig } from "../../src/config/load.js";
import { AggregatorError, isAggregatorError } from "../../src/errors.js";
import { compose } from "../../src/pipeline/compose.js";
import { CallStats, createObserveLayer } from "../../src/pipeline/middleware/observe.js";
import type { CallContext, Handler } from "../../src/pipeline/types.js";
import { createScrubber } from "../../src/secrets.js";
import { makeCtx, makeRoute, silentLogger, textResult } from "../helpers/pipeline.js";
import { tempDir, type TempDir } from "../helpers/aggregator.js";

const SECRET = "s3cr3t-value-from-the-config";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await tempDir("amcp-audit-");
});
afterEach(async () => {
  await tmp.cleanup();
});

/** A real observe layer whose call events go to `audit` through the call feed, as in the aggregator. */
function pipelineInto(audit: AuditLog, last: Handler): (ctx: CallContext) => Promise<unknown> {
  const stats = new CallStats();
  new CallFeed(stats).set("audit", (e) => audit.record(e));
  return compose([createObserveLayer(stats, silentLogger)], last);
}

function open(file: string, extra: Partial<Parameters<typeof AuditLog.open>[0]> = {}): Promise<AuditLog> {
  return AuditLog.open({
    file,
    maxBytes: 10 * 1024 * 1024,
    keep: 3,
    includePayloads: false,
    baseDir: tmp.dir,
    log: silentLogger,
    scrub: createScrubber([SECRET]),
    ...extra,
  });
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function withSession(ctx: CallContext, sessionId: string, principal?: string): CallContext {
  return { ...ctx, sessionId, ...(principal ? { principal } : {}) };
}

describe("audit log", () => {
  it("writes one line per call with who, what, outcome and duration, and no payloads by default", async () => {
    const audit = await open("audit.jsonl");
    const route = makeRoute({ server: "github", tool: "create_issue", publicName: "gh_create_issue" });
    const call = pipelineInto(audit, async (ctx) =>
      ctx.args["fail"] ? textResult(`refused: ${SECRET}`, true) : textResult(`created ${SECRET}`),
    );
    await call(withSession(makeCtx(route, { title: SECRET }), "sess-1", "alice"));
    await call(withSession(makeCtx(route, { fail: true }), "sess-2"));
    const thrown = compose([createObserveLayer(auditStats(audit), silentLogger)], async () => {
      throw new AggregatorError("DOWNSTREAM_TIMEOUT", "github: create_issue timed out after 5 ms");
    });
    await expect(thrown(makeCtx(route))).rejects.toThrow("timed out");
    await audit.close();

    const written = await lines(path.join(tmp.dir, "audit.jsonl"));
    expect(written).toEqual([
      {
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        id: expect.any(String),
        session: "sess-1",
        principal: "alice",
        tool: "gh_create_issue",
        server: "github",
        originalTool: "create_issue",
        outcome: "ok",
        durationMs: expect.any(Number),
      },
      expect.objectContaining({ session: "sess-2", outcome: "tool_error", errorCode: "tool_error" }),
      expect.objectContaining({ outcome: "timeout", errorCode: "DOWNSTREAM_TIMEOUT" }),
    ]);
    const text = await readFile(path.join(tmp.dir, "audit.jsonl"), "utf8");
    expect(text).not.toContain(SECRET);
    for (const line of written) {
      expect(line).not.toHaveProperty("arguments");
      expect(line).not.toHaveProperty("result");
      expect(line).not.toHaveProperty("error");
    }
    expect((await stat(path.join(tmp.dir, "audit.jsonl"))).mode & 0o777).toBe(0o600);
  });

  it("writes arguments, result and error text when includePayloads is on, secrets scrubbed", async () => {
    const audit = await open("payloads.jsonl", { includePayloads: true });
    const route = makeRoute({ server: "s", tool: "t" });
    const call = pipelineInto(audit, async (ctx) =>
      ctx.args["fail"] ? textResult(`refused with ${SECRET}`, true) : textResult("fine"),
    );
    await call(makeCtx(route, { title: "hello", token: SECRET }));
    await call(makeCtx(route, { fail: true }));
    await audit.close();
    const [ok, failed] = await lines(path.join(tmp.dir, "payloads.jsonl"));
    expect(ok).toMatchObject({
      outcome: "ok",
      arguments: { title: "hello", token: "[redacted]" },
      result: { content: [{ type: "text", text: "fine" }] },
    });
    expect(ok).not.toHaveProperty("error");
    expect(failed).toMatchObject({
      outcome: "tool_error",
      arguments: { fail: true },
      error: "refused with [redacted]",
      result: { isError: true },
    });
  });

  it("rotates by size and keeps `keep` old files, losing no line of the kept ones", async () => {
    const audit = await open("rot/audit.jsonl", { maxBytes: 1024, keep: 2 });
    const route = makeRoute({ server: "s", tool: "t" });
    const call = pipelineInto(audit, async () => textResult("ok"));
    for (let i = 0; i < 60; i++)
      await call(withSession(makeCtx(route), `session-${String(i).padStart(3, "0")}`));
    await audit.close();

    const dir = path.join(tmp.dir, "rot");
    expect((await readdir(dir)).sort()).toEqual(["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
    const sizes = await Promise.all(["audit.jsonl.2", "audit.jsonl.1"].map((f) => stat(path.join(dir, f))));
    const lineBytes = (await readFile(path.join(dir, "audit.jsonl.1"), "utf8")).split("\n")[0]!.length + 1;
    for (const s of sizes) {
      expect(s.size).toBeGreaterThanOrEqual(1024);
      expect(s.size).toBeLessThan(1024 + lineBytes + 8);
    }
    // Oldest kept file first: the sessions run on without a gap up to the last call.
    const kept = [
      ...(await lines(path.join(dir, "audit.jsonl.2"))),
      ...(await lines(path.join(dir, "audit.jsonl.1"))),
      ...(await lines(path.join(dir, "audit.jsonl"))),
    ].map((l) => Number((l["session"] as string).slice("session-".length)));
    expect(kept.at(-1)).toBe(59);
    expect(kept).toEqual(kept.map((_, i) => kept[0]! + i));
    expect(kept[0]).toBeGreaterThan(0); // the oldest lines were rotated out
  });

  it("appends to an existing file after a restart", async () => {
    const file = path.join(tmp.dir, "again.jsonl");
    await writeFile(file, '{"earlier":true}\n');
    const audit = await open(file);
    await pipelineInto(audit, async () => textResult("ok"))(makeCtx(makeRoute()));
    await audit.close();
    const written = await lines(file);
    expect(written).toHaveLength(2);
    expect(written[0]).toEqual({ earlier: true });
  });

  it("flushes every buffered line on close", async () => {
    const audit = await open("burst.jsonl");
    const route = makeRoute();
    const call = pipelineInto(audit, async () => textResult("ok"));
    // Not awaited one by one: 2,000 calls end within a few ticks, their lines still in the buffer.
    await Promise.all(Array.from({ length: 2_000 }, () => call(makeCtx(route))));
    await audit.close();
    expect(await lines(path.join(tmp.dir, "burst.jsonl"))).toHaveLength(2_000);
    // A line recorded after close is dropped, not written to a closed file.
    audit.record({ server: "s", tool: "t", outcome: "ok", durationMs: 1, attempts: 1, cache: undefined });
    expect(audit.droppedLines).toBe(1);
  });

  it("refuses a file it cannot write with a CONFIG_INVALID error naming audit.file", async () => {
    const notADir = path.join(tmp.dir, "plain-file");
    await writeFile(notADir, "x");
    const under = open(path.join(notADir, "audit.jsonl"));
    await expect(under).rejects.toSatisfy((e: unknown) => isAggregatorError(e, "CONFIG_INVALID"));
    await expect(under).rejects.toThrow(
      `audit.file: cannot write the audit log ${path.join(notADir, "audit.jsonl")}: ENOTDIR`,
    );
    await mkdir(path.join(tmp.dir, "a-dir"));
    await expect(open("a-dir")).rejects.toThrow(
      /audit\.file: cannot write the audit log .*a-dir: it is a directory/,
    );
  });
});

describe("audit settings", () => {
  it("are off by default, with documented defaults", () => {
    const { config } = parseConfig("{}", "t.json");
    expect(config.audit).toEqual({ maxBytes: 10 * 1024 * 1024, keep: 5, includePayloads: false });
  });

  it("name the field of a bad value", () => {
    expect(() => parseConfig('{"audit": {"file": "a.jsonl", "keep": 0}}', "t.json")).toThrow(/audit\.keep/);
    expect(() => parseConfig('{"audit": {"file": ""}}', "t.json")).toThrow(/audit\.file/);
    expect(() => parseConfig('{"audit": {"files": "a.jsonl"}}', "t.json")).toThrow(/audit/);
  });
});

function auditStats(audit: AuditLog): CallStats {
  const stats = new CallStats();
  new CallFeed(stats).set("audit", (e) => audit.record(e));
  return stats;
}
