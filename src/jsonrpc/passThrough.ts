import type { CallToolRequestParams, StandardSchemaV1 } from "@modelcontextprotocol/server";
import { isObject } from "./isObject.js";

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
      isObject(value) ? { value } : { issues: [{ message: "expected a JSON object as the result" }] },
  },
};

/**
 * The params schema of our tools/call handler. The SDK's `Server` checks every tools/call request
 * against its own tools/call schema before a handler runs (and answers -32602 "Invalid tools/call
 * request: …" when it does not match); a handler registered with the method's default schema would have
 * the same request parsed by zod once more at dispatch. Registered with this one instead, the params the
 * SDK already checked reach the handler as they are.
 */
export const CheckedToolCallParams: StandardSchemaV1<unknown, CallToolRequestParams> = {
  "~standard": {
    version: 1,
    vendor: "autonomous-mcp",
    validate: (value) => ({ value: value as CallToolRequestParams }),
  },
};
