import { spawn } from "node:child_process";

/**
 * The command that opens a URL in the user's browser, or undefined when there is none to open: in CI,
 * with AUTONOMOUS_MCP_NO_BROWSER set, or on a Linux/BSD machine without a display (a server, an SSH
 * session). $BROWSER wins where it is set.
 */
export function browserCommand(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] | undefined {
  if (env["CI"] || env["AUTONOMOUS_MCP_NO_BROWSER"]) return undefined;
  if (env["BROWSER"]) return [env["BROWSER"]];
  if (platform === "darwin") return ["open"];
  if (platform === "win32") return ["cmd", "/c", "start", '""'];
  if (env["DISPLAY"] || env["WAYLAND_DISPLAY"]) return ["xdg-open"];
  return undefined;
}

/** Opens the URL if a browser is available; true when one was started (its failure is not ours). */
export function openBrowser(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): boolean {
  const command = browserCommand(env, platform);
  if (!command) return false;
  const [program = "", ...args] = command;
  const child = spawn(program, [...args, url], { detached: true, stdio: "ignore" });
  child.on("error", () => undefined);
  child.unref();
  return true;
}
