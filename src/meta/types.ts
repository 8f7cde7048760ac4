import type { CallToolResult, Tool } from "@modelcontextprotocol/server";
import type { CallOrigin } from "../front/backend.js";

/** A tool the aggregator answers itself (status, search_tools, call_tool, run_workflow). */
export interface MetaTool {
  readonly definition: Tool;
  call(args: Record<string, unknown>, origin: CallOrigin): Promise<CallToolResult>;
}

export function textAndStructured(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}
