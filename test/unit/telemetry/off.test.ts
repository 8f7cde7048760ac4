import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../helpers/aggregator.js";

/**
 * Tracing off must not even load the SDK: a fresh Node process imports the compiled aggregator and
 * telemetry (dist/, `npm run build`), drives the hooks, and lists the @opentelemetry modules it loaded
 * (they are CommonJS, so each one lands in require.cache).
 */
const SCRIPT = `
import { createRequire } from "node:module";
const dist = process.argv[1];
await import(dist + "/aggregator.js");
const { Telemetry } = await import(dist + "/telemetry/index.js");
const telemetry = new Telemetry();
const decision = await telemetry.startTracing(JSON.parse(process.argv[2]), { serviceVersion: "0" });
const span = telemetry.inbound({ mcpReq: { id: 1, method: "tools/call" } }, { name: "x" }, "stdio");
const hop = telemetry.outbound("s", "tools/call", "x", span, 1);
const meta = hop.traceMeta({ traceparent: "given" });
hop.end({});
span.end({});
await telemetry.shutdown(0);
const loaded = Object.keys(createRequire(import.meta.url).cache)
  .filter((file) => file.includes("@opentelemetry"))
  .map((file) => file.split("@opentelemetry/")[1].split("/")[0]);
process.stdout.write(JSON.stringify({ on: decision.on, meta, packages: [...new Set(loaded)].sort() }));
// The exporter keeps retrying the unreachable collector in the background: the CLI exits after stop too.
process.exit(0);
`;

async function run(env: Record<string, string>): Promise<{ on: boolean; meta: unknown; packages: string[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", SCRIPT, path.join(ROOT, "dist"), JSON.stringify(env)],
    { cwd: ROOT, env: { PATH: process.env["PATH"] ?? "" } },
  );
  return JSON.parse(stdout) as { on: boolean; meta: unknown; packages: string[] };
}

describe("tracing off costs no SDK", () => {
  it("no OTEL_* variables: nothing of @opentelemetry is loaded, _meta passes through", async () => {
    const off = await run({});
    expect(off).toEqual({ on: false, meta: { traceparent: "given" }, packages: [] });
  });

  it("OTEL_TRACES_EXPORTER=none with an endpoint: still nothing loaded", async () => {
    const off = await run({
      OTEL_TRACES_EXPORTER: "none",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
    });
    expect(off.packages).toEqual([]);
  });

  it("on: the SDK is loaded (the check above can see it) and the hop carries our traceparent", async () => {
    // Port 9 (discard) on loopback: the export at shutdown fails fast; shutdown(0) does not wait for it.
    const on = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    expect(on.on).toBe(true);
    expect(on.packages).toEqual(
      expect.arrayContaining(["api", "core", "exporter-trace-otlp-http", "resources", "sdk-trace-base"]),
    );
    expect((on.meta as { traceparent: string }).traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
