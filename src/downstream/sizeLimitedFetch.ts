import { readableId } from "../jsonrpc/depth.js";
import { rejectedAnswer, tooLarge } from "../jsonrpc/rejected.js";

/**
 * fetch for a Streamable HTTP downstream that refuses a JSON answer whose Content-Length is over
 * maxResultBytes without reading it: each request in the POSTed body gets a "too large" error answer
 * instead (classify.ts: INVALID_RESULT, an isError result naming the size and the limit), the session
 * goes on. Answers without a Content-Length (chunked, SSE) are not bounded here.
 */
export function sizeLimitedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const length = Number(res.headers.get("content-length") ?? Number.NaN);
    if (!(length > maxBytes) || !res.headers.get("content-type")?.includes("application/json")) return res;
    await res.body?.cancel().catch(() => undefined);
    const answers = requestIds(init?.body).map((id) => rejectedAnswer(id, tooLarge(length, maxBytes)));
    const headers = new Headers({ "content-type": "application/json" });
    const session = res.headers.get("mcp-session-id");
    if (session !== null) headers.set("mcp-session-id", session);
    return new Response(JSON.stringify(answers.length === 1 ? answers[0] : answers), {
      status: 200,
      headers,
    });
  };
}

function requestIds(body: unknown): (string | number)[] {
  if (typeof body !== "string") return [];
  try {
    const value: unknown = JSON.parse(body);
    const messages = Array.isArray(value) ? value : [value];
    return messages
      .filter((m) => typeof m === "object" && m !== null && "method" in m)
      .map(readableId)
      .filter((id): id is string | number => id !== undefined);
  } catch {
    return [];
  }
}
