import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../../src/logger.js";
import { compose } from "../../../src/pipeline/compose.js";
import {
  createValidateLayer,
  SchemaCompiler,
  OVER_BUDGET,
} from "../../../src/pipeline/middleware/validate.js";
import { schemaNodes } from "../../../src/pipeline/middleware/schemaBudget.js";
import { makeCtx, makeRoute, scripted, silentLogger, textResult } from "../../helpers/pipeline.js";

function capture(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log: Logger = pino(
    { level: "warn" },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk.toString());
        cb();
      },
    }),
  );
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const text = (r: { content?: unknown }): string => (r.content as { text: string }[])[0]?.text ?? "";

function deep(depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("validate layer against hostile schemas and arguments (issue #14)", () => {
  it("runs `pattern` on RE2: ^(a+)+$ against a 5,000-character non-match completes and is reported", async () => {
    // On JavaScript's backtracking engine this input would not finish in any useful time.
    const route = makeRoute({
      publicName: "h_catastrophic",
      inputSchema: { type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } } },
    });
    const next = scripted([textResult("ok")]);
    const r = await compose([createValidateLayer()], next)(makeCtx(route, { s: `${"a".repeat(5_000)}!` }));
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('Invalid arguments for h_catastrophic: /s: must match pattern "^(a+)+$"');
    expect(next.calls).toBe(0);
  });

  it("runs `patternProperties` on RE2 too, each pattern its own (ajv caches patterns by their text)", async () => {
    const route = makeRoute({
      inputSchema: {
        type: "object",
        properties: { a: { type: "string", pattern: "^x+$" }, b: { type: "string", pattern: "^y+$" } },
        patternProperties: { "^(n+)+$": { type: "number" } },
      },
    });
    const handler = compose([createValidateLayer()], scripted([textResult("ok"), textResult("ok")]));
    expect((await handler(makeCtx(route, { a: "xx", b: "yy", nnn: 1 }))).isError).toBeFalsy();
    const bad = await handler(makeCtx(route, { a: "yy", b: "xx", nnn: "1" }));
    expect(text(bad)).toContain('/a: must match pattern "^x+$"');
    expect(text(bad)).toContain('/b: must match pattern "^y+$"');
    expect(text(bad)).toContain("/nnn: must be number");
  });

  it("a pattern RE2 cannot run (lookahead) is not checked, with one warning naming the tool", async () => {
    const { log, lines } = capture();
    const route = makeRoute({
      publicName: "h_lookahead",
      inputSchema: {
        type: "object",
        properties: { s: { type: "string", pattern: "(?=a)a" }, n: { type: "number" } },
      },
    });
    const handler = compose([createValidateLayer()], scripted([textResult("ok")]));
    expect((await handler(makeCtx(route, { s: "b" }, undefined, { log }))).isError).toBeFalsy();
    expect(text(await handler(makeCtx(route, { s: "b", n: "x" }, undefined, { log })))).toContain(
      "/n: must be number",
    );
    const warnings = lines().filter((l) => String(l["msg"]).includes("linear-time regex engine"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ tool: route.originalName, pattern: "(?=a)a" });
  });

  it("a schema over maxSchemaNodes is not compiled: object + required keys only, one warning", async () => {
    const { log, lines } = capture();
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 40_000; i++) properties[`p${i}`] = { type: "string" };
    const route = makeRoute({
      publicName: "h_huge",
      inputSchema: { type: "object", properties, required: ["p0"] },
    });
    const compiler = new SchemaCompiler(500);
    expect(compiler.validatorFor(route, log)).toBe(OVER_BUDGET);
    const handler = compose([createValidateLayer(compiler)], scripted([textResult("ok")]));
    expect(text(await handler(makeCtx(route, {}, undefined, { log })))).toBe(
      "Invalid arguments for h_huge: (root): must have required property 'p0'",
    );
    expect((await handler(makeCtx(route, { p0: 5 }, undefined, { log }))).isError).toBeFalsy();
    expect(lines().filter((l) => String(l["msg"]).includes("over maxSchemaNodes"))).toHaveLength(1);
  });

  it("counts schema nodes without recursion and stops at the budget", () => {
    expect(schemaNodes({ type: "object", properties: { a: { type: "string" } } }, 100)).toBe(3);
    expect(schemaNodes(deep(100_000), 10)).toBe(11);
  });

  it("refuses arguments nested deeper than maxJsonDepth before ajv and before any I/O", async () => {
    const next = scripted([textResult("never")]);
    const handler = compose([createValidateLayer(undefined, { maxJsonDepth: 64 })], next);
    const ctx = makeCtx(makeRoute({ publicName: "h_echo", inputSchema: { type: "object" } }), {
      x: deep(6_000),
    });
    const r = await handler(ctx);
    expect(text(r)).toBe("Invalid arguments for h_echo: (root): nested deeper than 64 levels (maxJsonDepth)");
    expect(ctx.invalid).toBe(true);
    expect(next.calls).toBe(0);
    const ok = await handler(
      makeCtx(makeRoute({ inputSchema: { type: "object" } }), { x: deep(60) }, undefined, {
        log: silentLogger,
      }),
    );
    expect(ok).toEqual(textResult("never"));
  });
});
