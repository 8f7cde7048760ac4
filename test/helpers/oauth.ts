import { spawn } from "node:child_process";
import path from "node:path";
import { CLI } from "./aggregator.js";

/**
 * The user at the browser for the fake authorization server (test/fixtures/oauth/authServer.ts), which
 * approves at once: opens the authorization URL and follows its redirect to the loopback callback.
 */
export async function approveInBrowser(url: string): Promise<void> {
  const answer = await fetch(url, { redirect: "manual" });
  const callback = answer.headers.get("location");
  if (answer.status !== 302 || !callback)
    throw new Error(`the authorization server answered ${answer.status}, not a redirect`);
  const landed = await fetch(callback);
  await landed.text();
  if (!landed.ok) throw new Error(`the loopback callback answered ${landed.status}`);
}

/** The environment of a CLI run that keeps its tokens in `<dir>/data` and never opens a browser. */
export function oauthEnv(dir: string): {
  PATH: string;
  HOME: string;
  AUTONOMOUS_MCP_DATA_DIR: string;
  CI: string;
} {
  return {
    PATH: process.env["PATH"] ?? "",
    HOME: dir,
    AUTONOMOUS_MCP_DATA_DIR: path.join(dir, "data"),
    CI: "1",
  };
}

/** `autonomous-mcp login SERVER --no-browser` with the test playing the user (approveInBrowser). */
export function cliLogin(
  config: string,
  server: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, "login", server, "--no-browser", "--config", config], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let approved: Promise<void> | undefined;
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/authorize\S+)$/m.exec(stderr)?.[1];
    if (url && !approved) approved = approveInBrowser(url);
  });
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => {
      if (!approved) return resolve({ code, stderr });
      approved.then(() => resolve({ code, stderr }), reject);
    }),
  );
}
