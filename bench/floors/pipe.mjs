/**
 * Floor 1 — a byte forwarder: stdin → the server's stdin, the server's stdout → stdout, nothing parsed.
 * No stdio proxy can add less. Takes the aggregator's command line (`serve --config FILE`) and fronts
 * the config's first server, so bench/quick.mjs can run it in place of an aggregator build (--base).
 * Its tools keep their own names.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(process.argv[process.argv.indexOf("--config") + 1], "utf8"));
const [entry] = Object.values(config.mcpServers);
const child = spawn(entry.command, entry.args, {
  env: { ...process.env, ...entry.env },
  stdio: ["pipe", "pipe", "inherit"],
});
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
process.stdin.on("end", () => child.kill());
