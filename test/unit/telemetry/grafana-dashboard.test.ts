import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../../src/metrics.js";
import { ROOT } from "../../helpers/aggregator.js";

interface Panel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(path.join(ROOT, "docs", "grafana", "autonomous-mcp.json"), "utf8"),
) as {
  panels: Panel[];
  templating: { list: { definition: string }[] };
};

/** Series names in a PromQL expression (ours all start amcp_ or mcp_; a label name is followed by neither { nor [). */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:amcp|mcp)_[a-z_]+)(?=[{[]|, )/g)].map((m) => m[1] as string);
}

describe("docs/grafana/autonomous-mcp.json", () => {
  it("reads only metrics and labels /metrics serves", async () => {
    const metrics = new Metrics({
      defaultMetrics: false,
      gauges: () => ({ inflight: { s: 1 }, queued: { s: 0 } }),
    });
    // Put one series in every metric with labels, so the exposition names each label.
    metrics.setBreaker("s", "open");
    metrics.setServerUp("s", true);
    metrics.operations.observeServer("tools/call", "t", "tcp", "tool_error", 0.01);
    metrics.operations.observeClient("tools/call", "s", "t", "-32603", 0.01);
    const exposition = (await metrics.render()).body;
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => v.definition),
    ];
    expect(exprs.length).toBeGreaterThan(8);
    for (const expr of exprs) {
      const names = seriesIn(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names)
        expect(exposition, `${name} in ${expr}`).toMatch(new RegExp(`^${name}[{ ]`, "m"));
      for (const [, label] of expr.matchAll(/(?:by \(|,\s*|\{)([a-z_]+)\s*(?:[=!]~?|,|\))/g)) {
        if (label === "le") continue;
        expect(exposition, `label ${label} in ${expr}`).toContain(`${label}=`);
      }
    }
  });

  it("has the panels the issue asks for: latency p50/p99 per server, error rate, breaker state, health", () => {
    const titles = dashboard.panels.map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        "Downstream latency p50 / p99 per server",
        "Downstream error rate per server",
        "Breaker state",
        "Downstream health",
      ]),
    );
  });
});
