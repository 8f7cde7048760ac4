import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { Writable } from "node:stream";
import { compose } from "../../../src/pipeline/compose.js";
import { createValidateLayer } from "../../../src/pipeline/middleware/validate.js";
import { makeCtx, makeRoute, scripted, textResult } from "../../helpers/pipeline.js";

const entitiesSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: {
    entities: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, entityType: { type: "string" } },
        required: ["name", "entityType"],
      },
    },
  },
  required: ["entities"],
};

function run(
  inputSchema: Record<string, unknown>,
  args: Record<string, unknown>,
  publicName = "memory_create_entities",
) {
  const next = scripted([textResult("done")]);
  const handler = compose([createValidateLayer()], next);
  const ctx = makeCtx(makeRoute({ publicName, inputSchema }), args);
  return { next, ctx, result: handler(ctx) };
}

function text(result: { content?: unknown }): string {
  return (result.content as Array<{ text: string }>)[0]?.text ?? "";
}

describe("validate layer", () => {
  it("passes valid arguments through to next", async () => {
    const { next, result } = run(entitiesSchema, { entities: [{ name: "a", entityType: "person" }] });
    expect(await result).toEqual(textResult("done"));
    expect(next.calls).toBe(1);
  });

  it("returns an isError result naming every violating path, without calling next", async () => {
    const { next, ctx, result } = run(entitiesSchema, {
      entities: [{ name: 1, entityType: "x" }, { entityType: "y" }],
    });
    const r = await result;
    expect(next.calls).toBe(0);
    expect(r.isError).toBe(true);
    expect(text(r)).toBe(
      "Invalid arguments for memory_create_entities: /entities/0/name: must be string; /entities/1: must have required property 'name'",
    );
    expect(ctx.invalid).toBe(true);
  });

  it("reports a missing top-level property at (root) and wrong types", async () => {
    expect(text(await run(entitiesSchema, {}).result)).toBe(
      "Invalid arguments for memory_create_entities: (root): must have required property 'entities'",
    );
    expect(text(await run(entitiesSchema, { entities: "nope" }).result)).toContain(
      "/entities: must be array",
    );
  });

  it("names the extra property and the allowed values", async () => {
    const schema = {
      type: "object",
      properties: { mode: { enum: ["a", "b"] } },
      additionalProperties: false,
    };
    const t = text(await run(schema, { mode: "c", extra: 1 }).result);
    expect(t).toContain("(root): must NOT have additional properties ('extra')");
    expect(t).toContain('/mode: must be equal to one of the allowed values ("a", "b")');
  });

  it("compiles Postman-like schemas with $ref into their own $defs / definitions", async () => {
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { collection: { $ref: "#/$defs/Collection" } },
      required: ["collection"],
      $defs: {
        Collection: {
          type: "object",
          properties: {
            info: { $ref: "#/$defs/Info" },
            item: { type: "array", items: { $ref: "#/$defs/Item" } },
          },
          required: ["info"],
        },
        Info: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        Item: { type: "object", properties: { request: { type: "string", format: "uri" } } },
      },
    };
    const bad = await run(schema, { collection: { info: {}, item: [{ request: 5 }] } }).result;
    expect(text(bad)).toBe(
      "Invalid arguments for memory_create_entities: /collection/info: must have required property 'name'; /collection/item/0/request: must be string",
    );
    const ok = run(schema, { collection: { info: { name: "c" }, item: [{ request: "https://x.test/a" }] } });
    expect((await ok.result).isError).toBeUndefined();

    const draft07 = {
      type: "object",
      properties: { a: { $ref: "#/definitions/A" } },
      definitions: { A: { type: "integer" } },
    };
    expect(text(await run(draft07, { a: "x" }).result)).toContain("/a: must be integer");
  });

  it("compiles each route's schema once, and two routes sharing an $id do not collide", async () => {
    const schema = {
      $id: "https://example.test/tool",
      type: "object",
      properties: { n: { type: "number" } },
    };
    const layer = createValidateLayer();
    const next = scripted([textResult("ok")]);
    const handler = compose([layer], next);
    const r1 = makeRoute({ inputSchema: schema });
    const r2 = makeRoute({ inputSchema: { ...schema, properties: { n: { type: "string" } } } });
    expect((await handler(makeCtx(r1, { n: 1 }))).isError).toBeUndefined();
    expect((await handler(makeCtx(r1, { n: "1" }))).isError).toBe(true);
    expect((await handler(makeCtx(r2, { n: "1" }))).isError).toBeUndefined();
  });

  it("passes calls through unvalidated when the schema does not compile, warning once", async () => {
    const lines: string[] = [];
    const log = pino(
      { level: "warn" },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const schema = { type: "object", properties: { a: { $ref: "#/nope" } } };
    const next = scripted([textResult("ok")]);
    const handler = compose([createValidateLayer()], next);
    const route = makeRoute({ inputSchema: schema });
    await handler(makeCtx(route, { a: 1 }, undefined, { log }));
    await handler(makeCtx(route, { a: 2 }, undefined, { log }));
    expect(next.calls).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("does not compile");

    const draft04 = {
      $schema: "http://json-schema.org/draft-04/schema#",
      type: "object",
      properties: { n: { type: "number", minimum: 1, exclusiveMinimum: true } },
    };
    const r = await run(draft04, { n: 0 }).result;
    expect(r.isError).toBeUndefined();
  });

  it("caps a long list of violations", async () => {
    const schema = { type: "array", items: { type: "string" } };
    const t = text(
      await run(
        { type: "object", properties: { xs: schema } },
        { xs: Array.from({ length: 30 }, (_, i) => i) },
      ).result,
    );
    expect(t).toContain("/xs/19: must be string; and 10 more");
    expect(t).not.toContain("/xs/20:");
  });
});
