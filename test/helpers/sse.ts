/**
 * Reading what the HTTP front sends back: the SDK's session transport answers every POST that holds
 * requests as a `text/event-stream` (a priming event with `id:`/`retry:` and empty data for protocol
 * 2025-11-25 and later, then one `data:` event per JSON-RPC message); refusals before the transport
 * (our screen, the SDK's header checks) are plain `application/json`.
 */

export interface SseEvent {
  id?: string;
  event?: string;
  retry?: number;
  data: string;
}

export function parseEvent(block: string): SseEvent {
  const event: SseEvent = { data: "" };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "retry") event.retry = Number(value);
    else if (field === "data") data.push(value);
  }
  event.data = data.join("\n");
  return event;
}

/** The events of a whole SSE body (comment-only blocks skipped). */
export function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim() !== "" && !b.split("\n").every((l) => l.startsWith(":")))
    .map(parseEvent);
}

/** The JSON-RPC messages of an SSE body (events with data; the priming event has none). */
export function sseMessages(text: string): Record<string, unknown>[] {
  return parseSse(text)
    .filter((e) => e.data !== "")
    .map((e) => JSON.parse(e.data) as Record<string, unknown>);
}

/**
 * The JSON-RPC answer in a response body: the body itself when it is JSON, else the last message of its
 * event stream (the answer comes after any progress or server→client request). Throws when there is none.
 */
export function answerOf(contentType: string | null | undefined, body: string): Record<string, unknown> {
  if (contentType?.startsWith("application/json")) return JSON.parse(body) as Record<string, unknown>;
  if (contentType !== "text/event-stream") throw new Error(`not an MCP answer (${contentType}): ${body}`);
  const last = sseMessages(body).pop();
  if (!last) throw new Error(`an event stream without a message: ${JSON.stringify(body)}`);
  return last;
}

/** The JSON-RPC answer of a fetch Response whose stream ends after it (see answerOf). */
export async function answer(res: Response): Promise<Record<string, unknown>> {
  return answerOf(res.headers.get("content-type"), await res.text());
}

/** Reads SSE events as they arrive (for streams the server keeps open). */
export class SseReader {
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    if (!res.body) throw new Error("no body");
    this.reader = res.body.getReader();
  }

  /** The next event; undefined once the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const at = this.buffer.indexOf("\n\n");
      if (at !== -1) {
        const block = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        if (block.split("\n").every((l) => l.startsWith(":"))) continue;
        return parseEvent(block);
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Events up to and including the first message `pred` accepts; throws if the stream ends first. */
  async until(pred: (message: Record<string, unknown>) => boolean): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (;;) {
      const e = await this.next();
      if (!e) throw new Error(`stream ended; saw ${JSON.stringify(seen)}`);
      seen.push(e);
      if (e.data && pred(JSON.parse(e.data) as Record<string, unknown>)) return seen;
    }
  }

  /** Every event until the stream ends. */
  async rest(): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (let e = await this.next(); e; e = await this.next()) seen.push(e);
    return seen;
  }
}
