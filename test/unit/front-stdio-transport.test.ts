import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { LineServerTransport } from "../../src/front/stdioTransport.js";

function wire() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const written: unknown[] = [];
  stdout.on("data", (c: Buffer) => {
    for (const line of c.toString("utf8").split("\n")) if (line) written.push(JSON.parse(line));
  });
  const transport = new LineServerTransport(stdin, stdout, 1024);
  const received: JSONRPCMessage[] = [];
  transport.onmessage = (m) => void received.push(m);
  return { stdin, transport, received, written };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("the stdio front transport", () => {
  it("answers a non-JSON line with a parse error and keeps reading", async () => {
    const { stdin, transport, received, written } = wire();
    await transport.start();
    stdin.write("this is not json\n");
    stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await tick();
    expect(written).toEqual([
      { jsonrpc: "2.0", id: null, error: { code: -32700, message: expect.stringContaining("Parse error") } },
    ]);
    expect(received).toEqual([{ jsonrpc: "2.0", id: 1, method: "ping" }]);
  });

  it("a failed stdout (EPIPE) is reported once; later answers are dropped instead of thrown", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new LineServerTransport(stdin, stdout, 1024);
    const lost: string[] = [];
    const errors: string[] = [];
    transport.onOutputLost = (e) => void lost.push(e.message);
    transport.onerror = (e) => void errors.push(e.message);
    await transport.start();
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    stdout.emit("error", epipe);
    stdout.emit("error", epipe);
    expect(lost).toEqual(["write EPIPE"]);
    expect(errors).toEqual(["write EPIPE"]);
    let wrote = false;
    stdout.on("data", () => (wrote = true));
    await transport.send({ jsonrpc: "2.0", id: 1, result: {} } as JSONRPCMessage);
    await transport.close();
    await tick();
    expect(wrote).toBe(false);
    // Still listening after close: a write that fails late does not become an unhandled 'error' event.
    expect(stdout.listenerCount("error")).toBeGreaterThan(0);
  });

  it("answers JSON that is not JSON-RPC 2.0 with a parse error", async () => {
    const { stdin, transport, received, written } = wire();
    await transport.start();
    stdin.write('{"hello":"world"}\n');
    await tick();
    expect(received).toEqual([]);
    expect(written).toHaveLength(1);
  });

  it("assembles messages split across chunks and CRLF line ends", async () => {
    const { stdin, transport, received } = wire();
    await transport.start();
    stdin.write('{"jsonrpc":"2.0","id":2,');
    stdin.write('"method":"ping"}\r\n');
    await tick();
    expect(received).toEqual([{ jsonrpc: "2.0", id: 2, method: "ping" }]);
  });

  it("refuses a message over the size limit without losing the next one", async () => {
    const { stdin, transport, received, written } = wire();
    let errors = 0;
    transport.onerror = () => void errors++;
    await transport.start();
    stdin.write("x".repeat(2048));
    stdin.write('\n{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
    await tick();
    expect(errors).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThan(0);
    expect(received.some((m) => "id" in m && m.id === 3)).toBe(true);
  });

  it("end of input stops reading but still writes answers until closed", async () => {
    const { stdin, transport, received, written } = wire();
    let closed = false;
    transport.onclose = () => void (closed = true);
    await transport.start();
    stdin.end('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow"}}\n');
    await tick();
    expect(received).toHaveLength(1);
    expect(closed).toBe(false);
    expect(transport.pendingRequests).toBe(1);
    // The call finishes after EOF: its answer is written.
    await transport.send({ jsonrpc: "2.0", id: 7, result: { content: [] } } as JSONRPCMessage);
    await tick();
    expect(written).toEqual([{ jsonrpc: "2.0", id: 7, result: { content: [] } }]);
    expect(transport.pendingRequests).toBe(0);
    await transport.close();
    expect(closed).toBe(true);
    // After close nothing more is written.
    await transport.send({ jsonrpc: "2.0", id: 8, result: {} } as JSONRPCMessage);
    await tick();
    expect(written).toHaveLength(1);
  });

  it("counts requests until they are answered; notifications and parse errors do not count", async () => {
    const { stdin, transport } = wire();
    await transport.start();
    stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    stdin.write("not json\n");
    stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await tick();
    expect(transport.pendingRequests).toBe(2);
    // A request of ours to the client (sampling) is not an answer.
    await transport.send({ jsonrpc: "2.0", id: 99, method: "sampling/createMessage" } as JSONRPCMessage);
    await transport.send({ jsonrpc: "2.0", id: 1, result: {} } as JSONRPCMessage);
    expect(transport.pendingRequests).toBe(1);
    // A request the client cancelled gets no answer (MCP): it stops counting.
    stdin.write('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}\n');
    await tick();
    expect(transport.pendingRequests).toBe(0);
  });
});
