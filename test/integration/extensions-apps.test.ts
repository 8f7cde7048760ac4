import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ROOT,
  startHttp,
  tempDir,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { modernHttpClient } from "../helpers/modern.js";

const FIXTURE = path.join(ROOT, "test", "fixtures", "extensions-server.mjs");
const entry = (name: string): Record<string, unknown> => ({
  command: process.execPath,
  args: [FIXTURE, "--name", name],
});
const APP_MIME = "text/html;profile=mcp-app";

/**
 * MCP Apps through the aggregator: two servers that both use ui://dashboard/index.html. Each tool's app URI
 * (nested `_meta.ui.resourceUri` and the legacy flat key) is namespaced by its server, and resources/read of
 * the namespaced URI reaches the owner, whose HTML resource comes back verbatim.
 */
describe("extensions: MCP Apps ui:// resources, two servers with the same ui:// path", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let client: Client;

  beforeAll(async () => {
    tmp = await tempDir();
    h = await startHttp(
      await writeConfig(tmp.dir, { mcpServers: { red: entry("red"), blue: entry("blue") } }),
    );
    client = await h.connect();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("rewrites each tool's app URI (both keys) to a ui:// URI naming its server, visibility kept", async () => {
    const tools = (await client.listTools()).tools;
    const red = tools.find((t) => t.name === "red_show_red");
    const blue = tools.find((t) => t.name === "blue_show_blue");
    expect(red?._meta).toEqual({
      ui: { resourceUri: "ui://red/dashboard/index.html", visibility: ["model", "app"] },
      "ui/resourceUri": "ui://red/dashboard/index.html",
    });
    expect(blue?._meta).toEqual({
      ui: { resourceUri: "ui://blue/dashboard/index.html", visibility: ["model", "app"] },
      "ui/resourceUri": "ui://blue/dashboard/index.html",
    });
    // Tools without an app are untouched.
    expect(tools.find((t) => t.name === "red_echo_red")?._meta).toBeUndefined();
  });

  it("lists each server's ui:// resource under its own namespaced URI", async () => {
    const uris = (await client.listResources()).resources.map((r) => r.uri).sort();
    expect(uris).toEqual(["ui://blue/dashboard/index.html", "ui://red/dashboard/index.html"]);
  });

  it("resources/read of a namespaced URI reaches the owner; the mcp-app resource passes verbatim", async () => {
    for (const name of ["red", "blue"]) {
      const r = await client.readResource({ uri: `ui://${name}/dashboard/index.html` });
      expect(r.contents).toEqual([
        {
          uri: `ui://${name}/dashboard/index.html`,
          mimeType: APP_MIME,
          text: `<html>${name} dashboard</html>`,
          _meta: { ui: { csp: { connectDomains: [] }, prefersBorder: true } },
        },
      ]);
    }
  });

  it("routes an app resource the server does not list", async () => {
    const r = await client.readResource({ uri: "ui://blue/widgets/unlisted.html" });
    expect(r.contents[0]).toMatchObject({
      uri: "ui://blue/widgets/unlisted.html",
      mimeType: APP_MIME,
      text: "<html>blue unlisted widget</html>",
    });
  });

  it("gives a 2026-07-28 client the same namespaced URIs and routed reads", async () => {
    const modern = await modernHttpClient(h.url);
    try {
      const tools = (await modern.listTools()).tools;
      expect(tools.find((t) => t.name === "blue_show_blue")?._meta?.["ui/resourceUri"]).toBe(
        "ui://blue/dashboard/index.html",
      );
      const r = await modern.readResource({ uri: "ui://blue/dashboard/index.html" });
      expect(r.contents[0]).toMatchObject({ mimeType: APP_MIME, text: "<html>blue dashboard</html>" });
    } finally {
      await modern.close();
    }
  });

  it("refuses a ui:// URI of no server (and the raw, unnamespaced one), and the session goes on", async () => {
    await expect(client.readResource({ uri: "ui://green/dashboard/index.html" })).rejects.toThrow(
      /Unknown resource: ui:\/\/green\/dashboard\/index.html/,
    );
    await expect(client.readResource({ uri: "ui://dashboard/index.html" })).rejects.toThrow(
      /Unknown resource/,
    );
    await expect(client.readResource({ uri: "ui://%E0%A4%A/x.html" })).rejects.toThrow(/Unknown resource/);
    const r = await client.callTool({ name: "red_show_red", arguments: {} });
    expect(r.content).toEqual([{ type: "text", text: "red dashboard shown" }]);
  });
});
