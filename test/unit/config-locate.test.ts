/** The config lookup: --config, $AUTONOMOUS_MCP_CONFIG, ./servers.config.json, then the XDG user config. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateConfig, userConfigPath } from "../../src/config/locate.js";
import { resolveConfigPath } from "../../src/config/load.js";
import { tempDir, type TempDir } from "../helpers/aggregator.js";

describe("config lookup", () => {
  let tmp: TempDir;
  let cwd: string;
  let home: string;
  beforeAll(async () => {
    tmp = await tempDir();
    cwd = path.join(tmp.dir, "project");
    home = path.join(tmp.dir, "home");
    await mkdir(cwd, { recursive: true });
    await mkdir(home, { recursive: true });
  });
  afterAll(() => tmp.cleanup());

  it("places the user config under $XDG_CONFIG_HOME, else ~/.config; a relative XDG_CONFIG_HOME is ignored", () => {
    expect(userConfigPath({ XDG_CONFIG_HOME: "/xdg", HOME: home })).toBe(
      "/xdg/autonomous-mcp/servers.config.json",
    );
    expect(userConfigPath({ HOME: home })).toBe(
      path.join(home, ".config/autonomous-mcp/servers.config.json"),
    );
    expect(userConfigPath({ XDG_CONFIG_HOME: "", HOME: home })).toBe(
      path.join(home, ".config/autonomous-mcp/servers.config.json"),
    );
    expect(userConfigPath({ XDG_CONFIG_HOME: "rel/dir", HOME: home })).toBe(
      path.join(home, ".config/autonomous-mcp/servers.config.json"),
    );
  });

  it("finds nothing and lists both places when neither file exists", () => {
    const env = { HOME: home };
    expect(locateConfig({}, env, cwd)).toEqual({
      path: path.join(cwd, "servers.config.json"),
      source: "working directory",
      found: false,
      searched: [
        path.join(cwd, "servers.config.json"),
        path.join(home, ".config/autonomous-mcp/servers.config.json"),
      ],
    });
    expect(resolveConfigPath({}, env, cwd)).toBe(path.join(cwd, "servers.config.json"));
  });

  it("goes --config, then AUTONOMOUS_MCP_CONFIG, then ./servers.config.json, then the user config", async () => {
    const xdg = path.join(tmp.dir, "xdg");
    const env = { HOME: home, XDG_CONFIG_HOME: xdg };
    const user = path.join(xdg, "autonomous-mcp", "servers.config.json");
    await mkdir(path.dirname(user), { recursive: true });
    await writeFile(user, "{}");
    expect(locateConfig({}, env, cwd)).toMatchObject({ path: user, source: "user config", found: true });

    const local = path.join(cwd, "servers.config.json");
    await writeFile(local, "{}");
    expect(locateConfig({}, env, cwd)).toMatchObject({
      path: local,
      source: "working directory",
      found: true,
    });

    const fromEnv = { ...env, AUTONOMOUS_MCP_CONFIG: "env.json" };
    expect(locateConfig({}, fromEnv, cwd)).toEqual({
      path: path.join(cwd, "env.json"),
      source: "AUTONOMOUS_MCP_CONFIG",
      found: false,
      searched: [path.join(cwd, "env.json")],
    });
    expect(locateConfig({ config: "/abs/flag.json" }, fromEnv, cwd)).toMatchObject({
      path: "/abs/flag.json",
      source: "--config",
      found: false,
    });
    // An empty flag or variable counts as not given.
    expect(locateConfig({ config: "" }, { ...env, AUTONOMOUS_MCP_CONFIG: "" }, cwd).path).toBe(local);
  });
});
