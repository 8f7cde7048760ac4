import { readableId } from "../jsonrpc/depth.js";
import { rejectedAnswer, tooLarge, type Rejection } from "../jsonrpc/rejected.js";

/**
 * fetch for a Streamable HTTP downstream that bounds a JSON answer to maxResultBytes while reading it:
 * once over (or when its Content-Length already is), the rest is not read and each request in the
 * POSTed body gets a "too large" error answer instead (classify.ts: INVALID_RESULT, an isError result
 * naming the size and the limit); the session goes on. SSE answers are not bounded here.
 */
export function sizeLimitedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body || !res.headers.get("content-type")?.includes("application/json")) return res;
    const declared = Number(res.headers.get("content-length") ?? Number.NaN);
    if (declared > maxBytes) {
      await res.body.cancel().catch(() => undefined);
      return refused(res, init, tooLarge(declared, maxBytes));
    }
    // A declared length within the bound is all there is to read (fetch holds the server to it): no copy.
    if (declared <= maxBytes) return res;
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return refused(res, init, tooLarge(maxBytes, maxBytes, true));
      }
      chunks.push(value);
    }
    return new Response(Buffer.concat(chunks), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}

function refused(res: Response, init: RequestInit | undefined, rejection: Rejection): Response {
  const answers = requestIds(init?.body).map((id) => rejectedAnswer(id, rejection));
  const headers = new Headers({ "content-type": "application/json" });
  const session = res.headers.get("mcp-session-id");
  if (session !== null) headers.set("mcp-session-id", session);
  return new Response(JSON.stringify(answers.length === 1 ? answers[0] : answers), { status: 200, headers });
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
