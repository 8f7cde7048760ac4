import { describe, expect, it } from "vitest";
import { tracingDecision } from "../../../src/telemetry/index.js";

describe("tracingDecision: the standard OTEL_* variables turn tracing on", () => {
  it("off with nothing set", () => {
    expect(tracingDecision({})).toEqual({ on: false });
    expect(tracingDecision({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).toEqual({ on: false });
  });

  it("on with an OTLP endpoint (general or traces-only) or OTEL_TRACES_EXPORTER=otlp", () => {
    expect(tracingDecision({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }).on).toBe(true);
    expect(tracingDecision({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }).on).toBe(true);
    expect(tracingDecision({ OTEL_TRACES_EXPORTER: "otlp" }).on).toBe(true);
    expect(tracingDecision({ OTEL_TRACES_EXPORTER: "console, OTLP" }).on).toBe(true);
  });

  it("OTEL_TRACES_EXPORTER=none wins over an endpoint", () => {
    expect(
      tracingDecision({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }),
    ).toEqual({ on: false, note: "OTEL_TRACES_EXPORTER=none" });
  });

  it("OTEL_SDK_DISABLED=true turns everything off", () => {
    expect(tracingDecision({ OTEL_SDK_DISABLED: "TRUE", OTEL_TRACES_EXPORTER: "otlp" })).toEqual({
      on: false,
      note: "OTEL_SDK_DISABLED=true",
    });
    expect(tracingDecision({ OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "otlp" }).on).toBe(true);
  });

  it("an exporter other than otlp is refused with a reason (console would write to the stdio protocol channel)", () => {
    const d = tracingDecision({ OTEL_TRACES_EXPORTER: "console", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x" });
    expect(d.on).toBe(false);
    expect(d.note).toBe(
      "OTEL_TRACES_EXPORTER=console is not supported (only otlp: OTLP over HTTP); traces are off",
    );
  });

  it("a protocol other than http/json is noted: spans still go as OTLP/HTTP JSON", () => {
    const d = tracingDecision({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://x",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    });
    expect(d.on).toBe(true);
    expect(d.note).toContain("OTEL_EXPORTER_OTLP_PROTOCOL=grpc: spans are sent as OTLP/HTTP JSON");
    const traces = tracingDecision({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://x",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    });
    expect(traces).toEqual({ on: true, note: undefined });
  });
});
