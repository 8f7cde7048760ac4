import { McpError } from "@modelcontextprotocol/sdk/types.js";

// The SDK-free part lives in errorCore.ts so that the CLI can read the config without loading the SDK.
export { AggregatorError, errorMessage, isAggregatorError, type ErrorCode } from "./errorCore.js";

/**
 * A JSON-RPC error for the wire whose message is exactly `message`: the SDK's McpError constructor
 * prepends "MCP error <code>: ", and the client's SDK adds that prefix again when it reads the error.
 */
export function wireError(code: number, message: string, data?: unknown): McpError {
  const error = new McpError(code, message, data);
  error.message = message;
  return error;
}
