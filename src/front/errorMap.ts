import { ProtocolErrorCode, ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../errors.js";

/**
 * The edge: local errors become what an MCP client understands. Tool-level trouble the model can act
 * on (down, busy, timed out, breaker open) is an isError result; an unknown tool is InvalidParams; a
 * downstream's JSON-RPC error keeps its code; anything else is InternalError, never a client fault.
 */
export function toolErrorToResult(error: unknown, publicName: string): CallToolResult {
  if (isAggregatorError(error)) {
    switch (error.code) {
      case "UNKNOWN_TOOL":
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      case "INVALID_ARGUMENTS":
      case "SERVER_UNAVAILABLE":
      case "SERVER_BUSY":
      case "BREAKER_OPEN":
      case "DOWNSTREAM_TIMEOUT":
      case "INVALID_RESULT":
      case "CANCELLED":
      case "WORKFLOW_FAILED":
      case "WORKFLOW_INVALID":
      case "TEMPLATE_ERROR":
      case "AUTH_REQUIRED":
      case "OWNER_UNAVAILABLE":
      case "CLUSTER_STATE_UNAVAILABLE":
      case "RATE_LIMITED":
      case "IDEMPOTENCY_CONFLICT":
        return errorResult(`${publicName}: ${error.message}`);
      default:
        break;
    }
  }
  if (error instanceof ProtocolError) throw error;
  throw internalError(error);
}

/** Non-tool requests (resources, prompts, completion): everything becomes a JSON-RPC error. */
export function requestErrorToMcp(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (isAggregatorError(error)) {
    if (error.code === "UNKNOWN_TOOL" || error.code === "INVALID_ARGUMENTS") {
      return new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
    }
    return new ProtocolError(ProtocolErrorCode.InternalError, error.message);
  }
  return internalError(error);
}

export function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}

function internalError(error: unknown): ProtocolError {
  // Never echo stacks; the message is enough and is logged with detail on our side.
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(ProtocolErrorCode.InternalError, `autonomous-mcp internal error: ${message}`);
}
