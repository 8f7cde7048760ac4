import type { CallToolResult, Tool } from "@modelcontextprotocol/server";
import type { CallOrigin } from "../front/backend.js";

/** A tool the aggregator answers itself (status, search_tools, call_tool, run_workflow). */
export interface MetaTool {
  readonly definition: Tool;
  /** `requestId`: the call's one request id (given by the router), for the tool's own logs and nested runs. */
  call(args: Record<string, unknown>, origin: CallOrigin, requestId?: string): Promise<CallToolResult>;
}

export function textAndStructured(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}
