import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faultServerEntry } from "../helpers/fault-server.js";
import { clusterUnavailableReason, startCluster, until, type ClusterRig } from "./harness.js";

const unavailable = clusterUnavailableReason();
const CLIENT_AWARE = fileURLToPath(new URL("../fixtures/client-aware-server.mjs", import.meta.url));
const inCi = process.env["CI"] === "true";

describe("cluster rig prerequisites", () => {
  it.runIf(inCi)("redis-server, nginx and dist/cli.js are present in CI", () => {
    expect(unavailable).toBeUndefined();
  });
  it.skipIf(inCi || unavailable === undefined)(`skipped here: ${unavailable ?? ""}`, () => undefined);
});

/** A 2025-era client (the 1.x SDK) through nginx: its requests land on every replica in turn. */
async function legacyClient(url: string, name = "legacy"): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

async function rawPost(url: string, session: string, body: unknown): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify(body),
  });
}

describe.skipIf(unavailable !== undefined)(
  "legacy (2025) sessions across three replicas behind nginx",
  () => {
    let rig: ClusterRig;

    beforeAll(async () => {
      rig = await startCluster({
        servers: {
          fault: { ...faultServerEntry("normal"), sessionMode: "shared" },
          // Per-client: each session's own connection, which may ask its client for sampling mid-call.
          ca: { command: process.execPath, args: [CLIENT_AWARE], sessionMode: "per-client" },
        },
      });
    }, 60_000);
    afterAll(async () => rig?.stop(), 30_000);

    it("one session is served by every replica: its calls land round-robin and all succeed", async () => {
      const client = await legacyClient(rig.url);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain("fault_echo");
      const answers = await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          client.callTool({ name: "fault_echo", arguments: { message: `call ${i}` } }),
        ),
      );
      expect(answers.map(text)).toEqual(Array.from({ length: 9 }, (_, i) => `call ${i}`));
      // The session was opened on one replica and rebuilt from its sealed id on the two others.
      await until("the session restored on the other replicas", () =>
        rig.replicas.filter((r) => r.log().includes('"msg":"http session restored"')).length >= 2
          ? true
          : undefined,
      );
      await client.close();
    });

    it("a server→client request goes out on the replica running the call; the answer, wherever it lands, reaches it", async () => {
      const client = new Client({ name: "sampler", version: "1.0.0" }, { capabilities: { sampling: {} } });
      let asked = 0;
      client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        asked++;
        const first = request.params.messages[0]?.content as { type?: string; text?: string } | undefined;
        const prompt = first?.type === "text" ? (first.text ?? "") : "";
        return { role: "assistant", model: "test", content: { type: "text", text: `sampled: ${prompt}` } };
      });
      await client.connect(new StreamableHTTPClientTransport(new URL(rig.url)));
      // Six calls one after another: round-robin sends most answers to a replica other than the caller's.
      for (let i = 0; i < 6; i++) {
        const result = await client.callTool({ name: "ca_sample_any", arguments: { prompt: `p${i}` } });
        expect(text(result)).toContain(`sampled: p${i}`);
      }
      expect(asked).toBe(6);
      await client.close();
    });

    it("session-wide messages (a server's log lines) reach the client on the GET stream, whichever replica sent them", async () => {
      const client = await legacyClient(rig.url, "listener");
      const seen: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        seen.push(JSON.stringify(n.params.data));
      });
      // The client's GET stream is open on one replica; six calls land on all three.
      await until("the GET stream open", async () => {
        const r = await client.callTool({ name: "ca_log", arguments: { level: "error", message: "probe" } });
        expect(text(r)).toBe("logged");
        return seen.length > 0 ? true : undefined;
      });
      for (let i = 0; i < 6; i++) {
        const r = await client.callTool({
          name: "ca_log",
          arguments: { level: "error", message: `line ${i}` },
        });
        expect(text(r)).toBe("logged");
      }
      await until("every line delivered", () =>
        Array.from({ length: 6 }, (_, i) => `line ${i}`).every((l) => seen.some((s) => s.includes(l)))
          ? true
          : undefined,
      );
      await client.close();
    });

    it("a cancellation that lands on another replica stops the call on the replica running it", async () => {
      const client = await legacyClient(rig.url);
      const session = (client.transport as StreamableHTTPClientTransport).sessionId as string;
      const [a, b] = rig.replicas as [ClusterRig["replicas"][number], ClusterRig["replicas"][number]];
      const stats = async (): Promise<{ calls: Record<string, number>; cancellations: unknown[] }> => {
        const direct = await legacyClient(a.url, "stats");
        const r = await direct.callTool({ name: "fault_stats", arguments: {} });
        await direct.close();
        return JSON.parse(text(r)) as { calls: Record<string, number>; cancellations: unknown[] };
      };
      const before = await stats();
      const stop = new AbortController();
      const hang = fetch(a.url, {
        method: "POST",
        signal: stop.signal,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: "hang-1",
          method: "tools/call",
          params: { name: "fault_hang", arguments: {} },
        }),
      }).catch(() => undefined);
      await until("the call running on replica A", async () =>
        ((await stats()).calls["hang"] ?? 0) > (before.calls["hang"] ?? 0) ? true : undefined,
      );
      const cancel = await rawPost(b.url, session, {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: "hang-1", reason: "changed my mind" },
      });
      expect(cancel.status).toBe(202);
      await until("the downstream call cancelled on replica A", async () =>
        (await stats()).cancellations.length > before.cancellations.length ? true : undefined,
      );
      stop.abort();
      await hang;
      await client.close();
    });

    it("a DELETE on one replica ends the session on every replica (404 afterwards)", async () => {
      const client = await legacyClient(rig.url);
      const transport = client.transport as StreamableHTTPClientTransport;
      const session = transport.sessionId as string;
      // Every replica holds a copy before the DELETE.
      for (const r of rig.replicas) {
        const res = await rawPost(r.url, session, { jsonrpc: "2.0", id: 1, method: "ping" });
        expect(res.status).toBe(200);
        await res.body?.cancel();
      }
      await transport.terminateSession();
      for (const r of rig.replicas) {
        const res = await until(`404 from replica ${r.index}`, async () => {
          const answer = await rawPost(r.url, session, { jsonrpc: "2.0", id: 2, method: "ping" });
          await answer.body?.cancel();
          return answer.status === 404 ? answer : undefined;
        });
        expect(res.status).toBe(404);
      }
      await client.close();
    });

    it("a session id that was not sealed by the cluster, or belongs to no session, is 404 everywhere", async () => {
      for (const bad of ["s1.AAAA", "s1." + "A".repeat(80), "not-a-session", "s1.%%%"]) {
        const res = await rawPost(rig.url, bad, { jsonrpc: "2.0", id: 1, method: "ping" });
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
          /Session not found/,
        );
      }
      // Nothing else was lost: a new session still works.
      const client = await legacyClient(rig.url);
      expect(text(await client.callTool({ name: "fault_echo", arguments: { message: "still here" } }))).toBe(
        "still here",
      );
      await client.close();
    });
  },
);
