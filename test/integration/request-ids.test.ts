import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import { faultServerEntry } from "../helpers/fault-server.js";

/** The debug log lines of the aggregator (JSON on stderr). */
function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("one request id per call (ADR 0018)", () => {
  let tmp: TempDir;
  let h: StdioHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    const config = await writeConfig(tmp.dir, { mcpServers: { fx: faultServerEntry("normal") } });
    h = await startStdio(config, { env: { AUTONOMOUS_MCP_LOG_LEVEL: "debug" } });
  });

  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("every call, meta-tool and workflow call included, is logged under its own id from one source", async () => {
    const tools = (await h.client.listTools()).tools.map((t) => t.name);
    const callTool = tools.find((n) => n.endsWith("call_tool"));
    const runWorkflow = tools.find((n) => n.endsWith("run_workflow"));
    expect(callTool && runWorkflow).toBeTruthy();
    await h.client.callTool({ name: "fx_echo", arguments: { message: "one" } });
    await h.client.callTool({ name: "fx_echo", arguments: { message: "two" } });
    await h.client.callTool({
      name: callTool as string,
      arguments: { name: "fx_echo", arguments: { message: "three" } },
    });
    const run = await h.client.callTool({
      name: runWorkflow as string,
      arguments: {
        workflow: { steps: [{ id: "s", tool: "fx_echo", args: { message: "four" } }] },
      },
    });
    expect(run.isError).not.toBe(true);

    const finishedLines = () =>
      logLines(h.stderr()).filter((l) => l["msg"] === "call ok" || l["msg"] === "call failed");
    // stderr may trail the answers on stdout: wait for the six lines.
    await waitFor(() => finishedLines().length >= 6);
    const finished = finishedLines();
    // 2 echoes + call_tool and its echo + run_workflow and its step's echo.
    expect(finished.map((l) => l["tool"])).toEqual([
      "echo",
      "echo",
      "echo",
      "call_tool",
      "echo",
      "run_workflow",
    ]);
    const ids = finished.map((l) => l["reqId"] as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-\d+$/);
    expect(new Set(ids.map((id) => id.split("-")[0])).size).toBe(1);
  });
});
