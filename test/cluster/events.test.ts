import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Client as ModernClient } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { modernHttpClient } from "../helpers/modern.js";
import { clusterUnavailableReason, startCluster, until, type ClusterRig } from "./harness.js";

const unavailable = clusterUnavailableReason();

async function legacyClient(url: string): Promise<Client> {
  const client = new Client({ name: "legacy-events", version: "1.0.0" }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe.skipIf(unavailable !== undefined)("list_changed across replicas", () => {
  let rig: ClusterRig;
  let legacy: Client;
  let modern: ModernClient;
  const legacySaw: number[] = [];
  const modernSaw: number[] = [];

  beforeAll(async () => {
    rig = await startCluster({
      servers: { fault: { ...faultServerEntry("normal"), sessionMode: "shared" } },
    });
    legacy = await legacyClient(rig.url);
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => void legacySaw.push(Date.now()));
    modern = await modernHttpClient(rig.url, { name: "modern-events" });
    modern.setNotificationHandler("notifications/tools/list_changed", () => void modernSaw.push(Date.now()));
  }, 60_000);
  afterAll(async () => {
    await legacy?.close();
    await modern?.close();
    await rig?.stop();
  }, 30_000);

  it("a 2026-07-28 client (v2 SDK, pinned) works through nginx: every request may land on another replica", async () => {
    for (let i = 0; i < 6; i++) {
      const tools = await modern.listTools();
      expect(tools.tools.map((t) => t.name)).toContain("fault_echo");
      const r = await modern.callTool({ name: "fault_echo", arguments: { message: `modern ${i}` } });
      expect(JSON.stringify(r.content)).toContain(`modern ${i}`);
    }
  });

  it("a change one replica sees reaches the legacy session's GET stream and the modern listen stream, whichever replica holds them", async () => {
    const sub = await modern.listen({ toolsListChanged: true });
    expect(sub.honoredFilter).toEqual({ toolsListChanged: true });
    // The legacy client's GET stream is open on one replica; the change happens on each replica in turn,
    // so at least two of the three cross replicas.
    for (const replica of rig.replicas) {
      const legacyBefore = legacySaw.length;
      const modernBefore = modernSaw.length;
      const direct = await legacyClient(replica.url);
      const added = await direct.callTool({
        name: "fault_add_tool",
        arguments: { name: `added_${replica.index}` },
      });
      expect(JSON.stringify(added)).toContain(`added added_${replica.index}`);
      await direct.close();
      await until(`list_changed from replica ${replica.index} on the legacy session`, () =>
        legacySaw.length > legacyBefore ? true : undefined,
      );
      await until(`list_changed from replica ${replica.index} on the modern listen stream`, () =>
        modernSaw.length > modernBefore ? true : undefined,
      );
    }
    await sub.close();
  });
});
