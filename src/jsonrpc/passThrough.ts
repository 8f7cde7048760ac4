import type { StandardSchemaV1 } from "@modelcontextprotocol/server";

/**
 * The result schema of requests whose answers we only pass on (a downstream's tools/call, lists,
 * resources/read; a client's sampling, elicitation and roots answers): the v2 SDK takes a request's result
 * schema from its caller, so these are checked to be an object and kept as they are, every key included,
 * without a zod parse of payloads nobody here reads. Shapes that matter are checked where they are read
 * (src/jsonrpc/rejected.ts for tools/call results).
 */
export const PassThroughResult: StandardSchemaV1<unknown, Record<string, unknown>> = {
  "~standard": {
    version: 1,
    vendor: "autonomous-mcp",
    validate: (value) =>
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? { value: value as Record<string, unknown> }
        : { issues: [{ message: "expected a JSON object as the result" }] },
  },
};
