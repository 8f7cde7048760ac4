import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { installedSchemaPath } from "../config/jsonSchema.js";
import { userConfigPath } from "../config/locate.js";
import { errorMessage } from "../errorCore.js";

export interface InitOptions {
  /** Overwrite an existing file. */
  readonly force: boolean;
  /** Print the starter on stdout instead of writing it. */
  readonly print: boolean;
  /** Where XDG_CONFIG_HOME and HOME are read. */
  readonly env: NodeJS.ProcessEnv;
  readonly say: (line: string) => void;
  readonly out: (text: string) => void;
}

/** The servers.config.json shipped beside dist/ (the package root): the starter config. */
const STARTER = new URL("../../servers.config.json", import.meta.url);

/**
 * `autonomous-mcp init`: writes the starter config to the user config location
 * ($XDG_CONFIG_HOME/autonomous-mcp/servers.config.json, else ~/.config/autonomous-mcp/…), which the
 * config lookup finds from any folder. Refuses to overwrite without --force. Exit 0, 1 (cannot write)
 * or 2 (exists).
 */
export async function initConfig(opts: InitOptions): Promise<number> {
  const text = withInstalledSchema(await readFile(STARTER, "utf8"));
  if (opts.print) {
    opts.out(text);
    return 0;
  }
  const file = userConfigPath(opts.env);
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // "wx" fails if the file exists: no check-then-write race. A new file is 0600: it may get tokens.
    await writeFile(file, text, { flag: opts.force ? "w" : "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      opts.say(`autonomous-mcp init: ${file} already exists; edit it, or run init --force to replace it`);
      return 2;
    }
    opts.say(`autonomous-mcp init: cannot write ${file}: ${errorMessage(error)}`);
    return 1;
  }
  opts.say(`autonomous-mcp init: wrote ${file}`);
  opts.say(
    "  memory works as it is; github, trello and postman start once their credentials are exported (see the file).",
  );
  opts.say(
    "  Next: autonomous-mcp validate, then autonomous-mcp doctor, then add it to your MCP client (README).",
  );
  return 0;
}

/** The starter's own `$schema` reference, relative to the package root (where the starter lives). */
const RELATIVE_SCHEMA = '"$schema": "./schema/servers.config.schema.json"';

/**
 * The starter with `$schema` pointing at this installation's schema (an absolute file URL): the relative
 * reference only resolves beside the package's own servers.config.json, not in ~/.config/autonomous-mcp.
 */
export function withInstalledSchema(starter: string, schemaPath = installedSchemaPath()): string {
  if (!existsSync(schemaPath)) return starter;
  return starter.replace(RELATIVE_SCHEMA, `"$schema": ${JSON.stringify(pathToFileURL(schemaPath).href)}`);
}
