/**
 * Floor 2 — a message forwarder without a pipeline: every line is parsed (JSON.parse), given its own id
 * and, for tools/call, the server's tool name, serialised again (JSON.stringify) and written with one
 * write per event-loop turn, like the aggregator's own stdio I/O. What any proxy that reads messages
 * (to route, validate or rename them) pays before doing anything else. Same command line as pipe.mjs;
 * tools are listed as `<server>_<tool>`.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(process.argv[process.argv.indexOf("--config") + 1], "utf8"));
const [[name, entry]] = Object.entries(config.mcpServers);
const child = spawn(entry.command, entry.args, {
  env: { ...process.env, ...entry.env },
  stdio: ["pipe", "pipe", "inherit"],
});

function batched(stream) {
  let lines = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const data = lines.length === 1 ? lines[0] : lines.join("");
    lines = [];
    stream.write(data);
  };
  return (message) => {
    lines.push(`${JSON.stringify(message)}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

function onMessages(stream, handle) {
  let rest = "";
  stream.on("data", (chunk) => {
    const text = rest + chunk.toString("utf8");
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (line) handle(JSON.parse(line));
    }
    rest = text.slice(start);
  });
}

const toServer = batched(child.stdin);
const toClient = batched(process.stdout);
const pending = new Map(); // our id → { id: the client's id, list: whether to rename tools }
let seq = 0;

onMessages(process.stdin, (m) => {
  if (m.method && m.id !== undefined) {
    const id = `f-${++seq}`;
    pending.set(id, { id: m.id, list: m.method === "tools/list" });
    const params =
      m.method === "tools/call"
        ? { ...m.params, name: m.params.name.slice(name.length + 1), _meta: { progressToken: id } }
        : m.params;
    toServer({ ...m, id, params });
  } else toServer(m);
});

onMessages(child.stdout, (m) => {
  const p = m.id !== undefined ? pending.get(m.id) : undefined;
  if (!p) {
    if (m.method !== "notifications/progress") toClient(m);
    return;
  }
  pending.delete(m.id);
  if (p.list && m.result) for (const t of m.result.tools) t.name = `${name}_${t.name}`;
  toClient({ ...m, id: p.id });
});
process.stdin.on("end", () => child.kill());
