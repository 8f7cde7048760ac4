/**
 * Whether the standard OpenTelemetry variables ask for traces. Only this on/off decision is ours (it has
 * to be made before anything of the SDK is loaded); the exporter, sampler and resource read the rest of
 * their variables themselves (OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*).
 */

export interface TracingDecision {
  readonly on: boolean;
  /** Why it is off, or a caveat while on (logged once at start-up). */
  readonly note?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/**
 * On when OTEL_TRACES_EXPORTER names `otlp`, or it is unset and an OTLP endpoint variable is set. Off
 * with OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none, or any exporter but otlp (`console` would
 * write spans to stdout, which is the stdio front's protocol channel).
 */
export function tracingDecision(env: Env): TracingDecision {
  if (read(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true") {
    return { on: false, note: "OTEL_SDK_DISABLED=true" };
  }
  const exporters = read(env, "OTEL_TRACES_EXPORTER")
    ?.split(",")
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== "");
  const endpoint =
    read(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? read(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (exporters !== undefined && exporters.length > 0) {
    if (!exporters.includes("otlp")) {
      const others = exporters.filter((e) => e !== "none");
      return {
        on: false,
        note:
          others.length === 0
            ? "OTEL_TRACES_EXPORTER=none"
            : `OTEL_TRACES_EXPORTER=${others.join(",")} is not supported (only otlp: OTLP over HTTP); traces are off`,
      };
    }
  } else if (endpoint === undefined) {
    return { on: false };
  }
  const protocol =
    read(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? read(env, "OTEL_EXPORTER_OTLP_PROTOCOL");
  const note =
    protocol !== undefined && protocol !== "http/json"
      ? `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: spans are sent as OTLP/HTTP JSON (http/json) to the same endpoint; a collector's OTLP/HTTP receiver (port 4318) accepts it, a gRPC port (4317) does not`
      : undefined;
  return { on: true, note };
}
