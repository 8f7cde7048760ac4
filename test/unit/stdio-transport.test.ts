import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ProcessGroupStdioTransport } from "../../src/downstream/stdio.js";
import { faultServerPath } from "../helpers/fault-server.js";
import { alive, waitFor } from "../helpers/aggregator.js";

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function connect(
  env: Record<string, string> = {},
  onGarbage?: (line: string) => void,
): Promise<{ client: Client; transport: ProcessGroupStdioTransport }> {
  const transport = new ProcessGroupStdioTransport({
    command: process.execPath,
    args: [faultServerPath],
    env: { PATH: process.env["PATH"] ?? "", ...env },
    onGarbage,
    killGraceMs: 1_000,
  });
  const client = new Client({ name: "t", version: "1" });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

describe("ProcessGroupStdioTransport", () => {
  it("keeps a progress notification that arrives together with its result", async () => {
    const { client } = await connect();
    for (let i = 0; i < 20; i++) {
      const seen: number[] = [];
      await client.callTool({ name: "progress", arguments: { steps: 3, delayMs: 5 } }, undefined, {
        onprogress: (p) => void seen.push(p.progress),
      });
      expect(seen).toEqual([1, 2, 3]);
    }
  });

  it("drops non-JSON stdout lines and keeps the link up", async () => {
    const garbage: string[] = [];
    const { client } = await connect({ FAULT_MODE: "garbage_stdout" }, (line) => void garbage.push(line));
    const result = await client.callTool({ name: "echo", arguments: { message: "still here" } });
    expect(JSON.stringify(result)).toContain("still here");
    expect(garbage.length).toBeGreaterThan(0);
  });

  it("stops a server that ignores stdin EOF and SIGTERM, with its process group", async () => {
    const { client, transport } = await connect({ FAULT_MODE: "ignore_sigterm" });
    const pid = transport.pid;
    expect(pid).toBeDefined();
    await client.callTool({ name: "echo", arguments: { message: "x" } });
    await transport.close();
    await waitFor(() => !alive(pid as number), 5_000);
  });

  it("records the negotiated protocol version", async () => {
    const { transport } = await connect();
    expect(transport.protocolVersion).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
