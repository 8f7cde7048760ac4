import { CLIENT_CAPABILITIES_META_KEY, type RequestOptions } from "@modelcontextprotocol/client";
import type { DownstreamInput, ForwardOptions } from "./types.js";

/**
 * A bridged request to a modern server: the calling client's capabilities on its envelope (they win over
 * the ones the SDK attaches), and on a retry the client's inputResponses and the server's requestState.
 */
function withInput(params: Record<string, unknown>, input: DownstreamInput): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  if (input.capabilities) {
    const meta = params["_meta"] as Record<string, unknown> | undefined;
    out["_meta"] = { ...meta, [CLIENT_CAPABILITIES_META_KEY]: input.capabilities };
  }
  if (input.responses !== undefined) out["inputResponses"] = input.responses;
  if (input.state !== undefined) out["requestState"] = input.state;
  return out;
}

/** The request as sent: a bridged request to a modern server carries the input (ForwardOptions.input). */
export function bridged(
  method: string,
  params: Record<string, unknown>,
  options: ForwardOptions,
  modern: boolean,
): { method: string; params: Record<string, unknown> } {
  const input = options.input;
  return { method, params: input && modern ? withInput(params, input) : params };
}

/** The SDK request options of a forwarded request. */
export function requestOptions(options: ForwardOptions): RequestOptions {
  return {
    signal: options.signal,
    timeout: options.timeoutMs,
    maxTotalTimeout: options.maxTotalTimeoutMs,
    resetTimeoutOnProgress: true,
    onprogress: options.onprogress,
    // The bridge: an input_required answer goes back to the calling client (src/bridge/), not fulfilled here.
    allowInputRequired: options.input !== undefined,
  };
}
