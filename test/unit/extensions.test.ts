import { describe, expect, it } from "vitest";
import type { Resource, Tool } from "@modelcontextprotocol/server";
import { Catalog, type CatalogSource } from "../../src/catalog/catalog.js";
import type { CatalogServerView } from "../../src/catalog/policy.js";
import { namespacedUiUri, parseUiUri, withAppUris } from "../../src/catalog/apps.js";
import { EMPTY_CATALOG } from "../../src/downstream/listing.js";
import {
  MAX_MERGED_INSTRUCTIONS,
  MAX_SERVER_INSTRUCTIONS,
  mergeInstructions,
} from "../../src/extensions/instructions.js";
import { createdTask, mapTaskIds, TaskIds } from "../../src/extensions/tasks.js";

const view = (name: string): CatalogServerView => ({
  name,
  prefix: name,
  trustAnnotations: true,
  readOnly: false,
  timeoutMs: 60_000,
  totalTimeoutMs: 180_000,
  tools: { allow: [], deny: [], overrides: {} },
});
const source = (name: string, tools: Tool[], resources: Resource[] = []): CatalogSource => ({
  server: view(name),
  catalog: { ...EMPTY_CATALOG, tools, resources },
});
const appTool = (name: string, uri: string): Tool => ({
  name,
  inputSchema: { type: "object" },
  _meta: { ui: { resourceUri: uri, visibility: ["app"] }, "ui/resourceUri": uri, other: 1 },
});

describe("instructions", () => {
  it("is undefined when no server has any", () => {
    expect(
      mergeInstructions([
        { name: "a", instructions: undefined },
        { name: "b", instructions: "  " },
      ]),
    ).toBe(undefined);
  });

  it("orders sections by server name and stays within the total bound", () => {
    const servers = ["d", "c", "b", "a", "e"].map((name) => ({ name, instructions: "y".repeat(9_000) }));
    const text = mergeInstructions(servers) ?? "";
    expect(text.startsWith("## a\n")).toBe(true);
    expect(text.length).toBeLessThanOrEqual(MAX_MERGED_INSTRUCTIONS + 300);
    expect(text).toContain(`a's instructions were cut at ${MAX_SERVER_INSTRUCTIONS} of 9000 characters`);
    expect(text).toMatch(/the instructions of d, e were left out/);
  });
});

describe("MCP Apps URIs", () => {
  it("namespaces a ui:// URI by server, reversibly, for any server name", () => {
    for (const server of ["wx", "a/b", "ünï cøde", "ui:", "%41"]) {
      const uri = namespacedUiUri(server, "ui://dashboard/x.html?q=1");
      expect(uri.startsWith("ui://")).toBe(true);
      expect(parseUiUri(uri)).toEqual({ server, uri: "ui://dashboard/x.html?q=1" });
    }
    expect(namespacedUiUri("a", "ui://x")).not.toBe(namespacedUiUri("b", "ui://x"));
  });

  it("parses nothing that is not a namespaced ui:// URI", () => {
    expect(parseUiUri("https://x/y")).toBeUndefined();
    expect(parseUiUri("ui://noslash")).toBeUndefined();
    expect(parseUiUri("ui:///x")).toBeUndefined();
    expect(parseUiUri("ui://%E0%A4%A/x")).toBeUndefined();
  });

  it("rewrites both app keys of a tool, keeps the rest, and leaves app-less tools as they are", () => {
    const t = withAppUris(appTool("show", "ui://dash/i.html"), "s1");
    expect(t._meta).toEqual({
      ui: { resourceUri: "ui://s1/dash/i.html", visibility: ["app"] },
      "ui/resourceUri": "ui://s1/dash/i.html",
      other: 1,
    });
    const plain: Tool = {
      name: "p",
      inputSchema: { type: "object" },
      _meta: { ui: { resourceUri: "https://x" } },
    };
    expect(withAppUris(plain, "s1")).toBe(plain);
  });

  it("catalog: the same ui:// path from two servers gets two URIs, each routed back to its owner", () => {
    const page = (uri: string): Resource => ({ uri, name: "page", mimeType: "text/html;profile=mcp-app" });
    const catalog = new Catalog(
      [
        source("red", [appTool("show", "ui://dash/i.html")], [page("ui://dash/i.html")]),
        source("blue", [appTool("show", "ui://dash/i.html")], [page("ui://dash/i.html")]),
      ],
      [],
      { separator: "_", maxLength: 54, readOnly: false },
    );
    expect(catalog.resourceList.map((r) => r.uri).sort()).toEqual([
      "ui://blue/dash/i.html",
      "ui://red/dash/i.html",
    ]);
    expect(catalog.resolveResource("ui://red/dash/i.html")).toEqual({
      server: "red",
      uri: "ui://dash/i.html",
    });
    expect(catalog.resolveResource("ui://blue/other.html")).toEqual({
      server: "blue",
      uri: "ui://other.html",
    });
    expect(catalog.resolveResource("ui://green/dash/i.html")).toBeUndefined();
    expect(catalog.publicUri("blue", "ui://dash/i.html")).toBe("ui://blue/dash/i.html");
    expect(catalog.publicUri("blue", "file:///x")).toBe("file:///x");
    const red = catalog.resolveTool("red_show");
    expect(red?.definition._meta?.["ui/resourceUri"]).toBe("ui://red/dash/i.html");
  });
});

describe("task ids", () => {
  const ids = new TaskIds(new Uint8Array(32).fill(7));

  it("opens a sealed id only for the client it was issued to", () => {
    const sealed = ids.seal("one", "task-1", "s:alice");
    expect(sealed).toMatch(/^amt1\./);
    expect(sealed).not.toContain("task-1");
    expect(ids.open(sealed, "s:alice")).toEqual({ server: "one", taskId: "task-1" });
    expect(ids.open(sealed, "s:bob")).toBeUndefined();
    expect(new TaskIds().open(sealed, "s:alice")).toBeUndefined(); // another process's key
  });

  it("refuses tampered, foreign and malformed ids", () => {
    const sealed = ids.seal("one", "task-1", "o");
    const [prefix, body, mac] = sealed.split(".") as [string, string, string];
    const forged = Buffer.from(JSON.stringify(["two", "task-1"])).toString("base64url");
    for (const bad of [
      `${prefix}.${forged}.${mac}`,
      `${prefix}.${body}.${mac.slice(1)}`,
      `${sealed}.x`,
      "task-1",
      "amt1.",
      "amt1.a.b",
      42,
      undefined,
      "amt1." + "x".repeat(5_000),
    ])
      expect(ids.open(bad, "o")).toBeUndefined();
  });

  it("asks for a key of at least 32 bytes", () => {
    expect(() => new TaskIds(new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });

  it("maps every place a task id travels, and nothing else", () => {
    const up = (id: string): string => `<${id}>`;
    expect(mapTaskIds({ task: { taskId: "a", status: "working" } }, up)).toEqual({
      task: { taskId: "<a>", status: "working" },
    });
    expect(mapTaskIds({ resultType: "task", taskId: "b" }, up)).toEqual({
      resultType: "task",
      taskId: "<b>",
    });
    expect(mapTaskIds({ tasks: [{ taskId: "c" }, 3] }, up)).toEqual({ tasks: [{ taskId: "<c>" }, 3] });
    expect(
      mapTaskIds({ content: [], _meta: { "io.modelcontextprotocol/related-task": { taskId: "d" } } }, up),
    ).toEqual({ content: [], _meta: { "io.modelcontextprotocol/related-task": { taskId: "<d>" } } });
    const plain = { content: [{ type: "text", text: "taskId" }] };
    expect(mapTaskIds(plain, up)).toBe(plain);
  });

  it("recognises a created task of either generation, not a tool result", () => {
    expect(createdTask({ task: { taskId: "a" } })).toBe(true);
    expect(createdTask({ resultType: "task", taskId: "a" })).toBe(true);
    expect(createdTask({ content: [], task: { taskId: "a" } })).toBe(false);
    expect(createdTask({ content: [] })).toBe(false);
  });
});
