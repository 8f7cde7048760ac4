import { describe, expect, it } from "vitest";
import { Metrics } from "../../../src/metrics.js";
import { Telemetry } from "../../../src/telemetry/index.js";
import { OPERATION_BUCKETS } from "../../../src/telemetry/operationMetrics.js";

function setup(): { metrics: Metrics; telemetry: Telemetry } {
  const metrics = new Metrics({ defaultMetrics: false });
  const telemetry = new Telemetry({
    knownTool: (name) => name === "github_get_issue",
    knownServerTool: (server, tool) => server === "github" && tool === "get_issue",
  });
  telemetry.useMetrics(metrics.operations);
  return { metrics, telemetry };
}

function countLine(body: string, metric: string, labels: string): number | undefined {
  const line = body.split("\n").find((l) => l.startsWith(`${metric}_count{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

const req = (method: string) => ({ mcpReq: { id: 1, method } });

describe("mcp.server/client.operation.duration on /metrics", () => {
  it("observes inbound and outbound operations with bounded labels, in seconds", async () => {
    const { metrics, telemetry } = setup();
    telemetry.inbound(req("tools/call"), { name: "github_get_issue" }, "http").end({ content: [] });
    telemetry.inbound(req("tools/call"), { name: "made_up_1" }, "http").end({ isError: true });
    telemetry.inbound(req("tools/call"), { name: "made_up_2" }, "http").end({ isError: true });
    telemetry.inbound(req("tools/list"), undefined, "stdio").end({});
    telemetry.inbound(req("evil/method"), undefined, "stdio").fail({ code: -32601 });
    const hop = telemetry.outbound("github", "tools/call", "get_issue", undefined, 1);
    hop.fail({ code: -31999 });
    telemetry.outbound("github", "tools/call", "not_listed", undefined, 1).end({});
    telemetry.outbound("github", "resources/read", "file:///x", undefined).end({});
    const { body } = await metrics.render();
    const server = "mcp_server_operation_duration_seconds";
    const client = "mcp_client_operation_duration_seconds";
    expect(
      countLine(
        body,
        server,
        'mcp_method_name="tools/call",gen_ai_tool_name="github_get_issue",error_type="",network_transport="tcp"',
      ),
    ).toBe(1);
    // Unknown tool names collapse to one "other" series.
    expect(
      countLine(
        body,
        server,
        'mcp_method_name="tools/call",gen_ai_tool_name="other",error_type="tool_error",network_transport="tcp"',
      ),
    ).toBe(2);
    expect(
      countLine(
        body,
        server,
        'mcp_method_name="tools/list",gen_ai_tool_name="",error_type="",network_transport="pipe"',
      ),
    ).toBe(1);
    expect(
      countLine(
        body,
        server,
        'mcp_method_name="other",gen_ai_tool_name="",error_type="-32601",network_transport="pipe"',
      ),
    ).toBe(1);
    // A code outside the known set is _OTHER in the label.
    expect(
      countLine(
        body,
        client,
        'mcp_method_name="tools/call",server="github",gen_ai_tool_name="get_issue",error_type="_OTHER"',
      ),
    ).toBe(1);
    expect(
      countLine(
        body,
        client,
        'mcp_method_name="tools/call",server="github",gen_ai_tool_name="other",error_type=""',
      ),
    ).toBe(1);
    expect(
      countLine(
        body,
        client,
        'mcp_method_name="resources/read",server="github",gen_ai_tool_name="",error_type=""',
      ),
    ).toBe(1);
    expect(body).not.toContain("made_up");
    expect(body).not.toContain("not_listed");
    expect(body).not.toContain("file:///x");
    expect(body).toContain(`# HELP ${server} mcp.server.operation.duration`);
    expect(body).toContain(`# TYPE ${client} histogram`);
    for (const le of OPERATION_BUCKETS) expect(body).toContain(`le="${le}"`);
  });

  it("without useMetrics nothing is observed, and no step metric exists", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const telemetry = new Telemetry();
    telemetry.inbound(req("tools/call"), { name: "x" }, "http").end({});
    telemetry.useMetrics(metrics.operations);
    telemetry.step(undefined, "wf", "s", "t").end();
    const { body } = await metrics.render();
    expect(body).not.toMatch(/mcp_server_operation_duration_seconds_count/);
    telemetry.useMetrics(undefined);
    telemetry.inbound(req("tools/call"), { name: "x" }, "http").end({});
    expect((await metrics.render()).body).not.toMatch(/mcp_server_operation_duration_seconds_count/);
  });

  it("error types are bounded: our own UPPER_CASE codes pass, anything odd is _OTHER", async () => {
    const { metrics, telemetry } = setup();
    for (const code of ["DOWNSTREAM_TIMEOUT", "x".repeat(300), "<script>"]) {
      telemetry.inbound(req("tools/call"), { name: "github_get_issue" }, "http").fail({ code });
    }
    const { body } = await metrics.render();
    expect(body).toContain('error_type="DOWNSTREAM_TIMEOUT"');
    expect(body).not.toContain("<script>");
    expect(body).not.toContain("xxxx");
  });
});
