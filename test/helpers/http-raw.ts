import { request, type ClientRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** Raw HTTP for hostile requests on the HTTP front (what an SDK client would never send). */

export const PROTOCOL = "2025-06-18";

export const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request; the body is read to its end. */
export function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function post(url: string, headers: Record<string, string>, body: string): Promise<RawAnswer> {
  return send(
    url,
    "POST",
    { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body,
  );
}

/** A new session of the bearer token's principal: its id (after notifications/initialized). */
export async function openSession(url: string, token: string | undefined): Promise<string> {
  const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const init = await post(url, auth, INIT);
  const id = init.headers["mcp-session-id"];
  if (init.status !== 200 || typeof id !== "string")
    throw new Error(`initialize answered ${init.status}: ${init.body}`);
  await post(
    url,
    { ...auth, "mcp-session-id": id, "mcp-protocol-version": PROTOCOL },
    JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  );
  return id;
}

/** Opens the session's GET stream and resolves once its headers arrived; destroy() closes it. */
export function holdStream(
  url: string,
  token: string | undefined,
  sessionId: string,
): Promise<{ status: number; req: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        headers: {
          accept: "text/event-stream",
          "mcp-session-id": sessionId,
          "mcp-protocol-version": PROTOCOL,
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        res.on("error", () => undefined);
        res.resume();
        resolve({ status: res.statusCode ?? 0, req });
      },
    );
    req.on("error", (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

/**
 * Writes `head` (a request line and headers, CRLF-separated, without the blank line) on a fresh
 * socket and returns the answer's status code; for request targets no URL-based client will send.
 */
export function rawRequest(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString("latin1")));
    socket.on("end", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on("error", reject);
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** An SDK 1.x client whose every request carries `Authorization: Bearer <token>`. */
export async function sdkClient(
  url: string,
  token: string | undefined,
  name = "test-client",
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

/** The value of one Prometheus series (0 when absent). */
export function metricValue(exposition: string, series: string): number {
  for (const line of exposition.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
