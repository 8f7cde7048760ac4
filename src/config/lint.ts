import { formatPath } from "./problems.js";
import { configSchema } from "./schema.js";
import { isObject } from "../jsonrpc/isObject.js";

/**
 * Checks on the file as written (before the schema): what other clients' configs carry that would
 * otherwise reach a server literally or be dropped without a word. Lines are `<path>: <what>`, without
 * the source-name prefix; values are never echoed (they may be secrets), placeholders are.
 *
 * - errors: placeholders that cannot be resolved outside VS Code (`${input:x}`, `${command:x}`), and
 *   `"enabled": true` with `"disabled": true`;
 * - warnings: other foreign placeholders (`${env:X}` is expanded like `${X}`; `$X`, `%X%`, `{{X}}` and
 *   an unterminated `${X` are not), literal secrets in env/headers, unknown top-level keys.
 */

export interface Lint {
  readonly errors: string[];
  readonly warnings: string[];
}

type Path = readonly PropertyKey[];
type JsonObject = Record<string, unknown>;

/** Keys of the top level we know; `$schema` and `$comment` included. */
export const TOP_LEVEL_KEYS: readonly string[] = Object.keys(configSchema.in.shape);

/** `api-key` → `API_KEY`; a name usable as an environment variable. */
export function envName(text: string): string {
  const name = text
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  return name === "" ? "NAME" : /^[0-9]/.test(name) ? `_${name}` : name;
}

interface Placeholder {
  readonly re: RegExp;
  readonly fatal: boolean;
  readonly say: (m: RegExpExecArray) => string;
}

const VAR = "[A-Za-z_][A-Za-z0-9_]*";
const UPPER = "[A-Z_][A-Z0-9_]*";

/** VS Code's predefined variables that look like `${VAR}` (https://code.visualstudio.com/docs/reference/variables-reference). */
const VSCODE_VARIABLES = [
  "workspaceFolder",
  "workspaceFolderBasename",
  "workspaceRoot",
  "userHome",
  "cwd",
  "file",
  "fileDirname",
  "fileBasename",
  "fileBasenameNoExtension",
  "relativeFile",
  "pathSeparator",
  "execPath",
];

/** Foreign placeholder forms, each with its message (which names the `${VAR}` form to write). */
const PLACEHOLDERS: readonly Placeholder[] = [
  {
    re: new RegExp(`\\$\\{env:(${VAR})\\}`, "g"),
    fatal: false,
    say: (m) => `${m[0]} is VS Code/Cursor syntax; write \${${m[1]}} (expanded the same way)`,
  },
  {
    re: /\$\{input:([^}]*)\}/g,
    fatal: true,
    say: (m) =>
      `${m[0]} is a VS Code input prompt and cannot be resolved here (it would reach the server as written); set an environment variable and write \${${envName(m[1] ?? "")}}`,
  },
  {
    // VS Code's other variables with a colon (config:, command:, ...); `${VAR:-default}` is ours.
    re: /\$\{(?!env:|input:)([A-Za-z]+):(?!-)([^}]*)\}/g,
    fatal: true,
    say: (m) =>
      `${m[0]} is VS Code syntax and cannot be resolved here (it would reach the server as written); set an environment variable and write \${${envName(m[2] ?? "")}}`,
  },
  {
    re: new RegExp(`\\$\\{(${VSCODE_VARIABLES.join("|")})\\}`, "g"),
    fatal: false,
    say: (m) =>
      `${m[0]} is a VS Code variable, read here as an environment variable of that name; write ${m[1] === "userHome" ? "${HOME}" : "an absolute path or ${VAR}"}`,
  },
  {
    re: new RegExp(`\\$\\{(${VAR})?[^}]*$`, "g"),
    fatal: false,
    say: (m) => `"\${" without a closing "}" is passed on as written; write \${${m[1] ?? "NAME"}}`,
  },
  {
    re: new RegExp(`(?<![$\\\\])\\$(${UPPER})(?![A-Za-z0-9_{])`, "g"),
    fatal: false,
    say: (m) => `$${m[1]} is shell syntax and is not expanded; write \${${m[1]}}`,
  },
  {
    // Not a URL escape such as %E2%.
    re: new RegExp(`%(?![0-9A-F]{2}%)(${UPPER})%`, "g"),
    fatal: false,
    say: (m) => `%${m[1]}% is Windows syntax and is not expanded; write \${${m[1]}}`,
  },
  {
    re: new RegExp(`\\{\\{\\s*(${VAR})\\s*\\}\\}`, "g"),
    fatal: false,
    say: (m) => `{{${m[1]}}} is template syntax and is not expanded; write \${${m[1]}}`,
  },
];

/** Problems of one string value at `path`. */
function placeholders(value: string, path: Path, out: Lint): void {
  for (const p of PLACEHOLDERS) {
    for (const m of value.matchAll(p.re)) {
      (p.fatal ? out.errors : out.warnings).push(`${formatPath(path)}: ${p.say(m as RegExpExecArray)}`);
    }
  }
}

const SECRET_WORDS = new Set([
  "token",
  "secret",
  "password",
  "passwd",
  "pwd",
  "key",
  "apikey",
  "auth",
  "authorization",
  "credential",
  "credentials",
  "cookie",
  "pat",
  "bearer",
]);

/** `GITHUB_PERSONAL_ACCESS_TOKEN`, `x-api-key`, `Authorization`, `clientSecret`: yes; `MEMORY_FILE_PATH`: no. */
export function looksSecret(key: string): boolean {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((word) => SECRET_WORDS.has(word));
}

/** Values that are settings rather than secrets. */
const NOT_A_SECRET = /^(?:|true|false|yes|no|on|off|[0-9]{1,5})$/i;
/** Any reference the loader expands (`${VAR}`, `${VAR:-d}`, `${env:VAR}`). */
const REFERENCE = new RegExp(`\\$\\{(?:env:)?${VAR}(?::-[^}]*)?\\}`);

function literalSecret(
  server: string,
  field: "env" | "headers",
  key: string,
  value: string,
): string | undefined {
  if (!looksSecret(key) || NOT_A_SECRET.test(value.trim()) || REFERENCE.test(value)) return undefined;
  const name = field === "env" ? envName(key) : `${envName(server)}_TOKEN`;
  const form = /^bearer\s/i.test(value) ? `Bearer \${${name}}` : `\${${name}}`;
  return `looks like a secret written into the file; set it in the environment and write "${form}"`;
}

const EXPANDED_STRINGS = ["command", "cwd", "url"] as const;
const EXPANDED_MAPS = ["env", "headers"] as const;

/** Foreign placeholders, literal secrets and enabled/disabled contradictions of one server entry. */
export function lintEntry(
  name: string,
  entry: unknown,
  at: Path,
  out: Lint = { errors: [], warnings: [] },
): Lint {
  if (!isObject(entry)) return out;
  for (const field of EXPANDED_STRINGS) {
    const v = entry[field];
    if (typeof v === "string") placeholders(v, [...at, field], out);
  }
  const args = entry["args"];
  if (Array.isArray(args))
    args.forEach((a, i) => typeof a === "string" && placeholders(a, [...at, "args", i], out));
  for (const field of EXPANDED_MAPS) {
    const map = entry[field];
    if (!isObject(map)) continue;
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== "string") continue;
      const before = out.errors.length + out.warnings.length;
      placeholders(v, [...at, field, key], out);
      if (out.errors.length + out.warnings.length > before) continue; // a placeholder, not a secret
      const secret = literalSecret(name, field, key, v);
      if (secret !== undefined) out.warnings.push(`${formatPath([...at, field, key])}: ${secret}`);
    }
  }
  const auth = entry["auth"];
  const clientSecret = isObject(auth) ? auth["clientSecret"] : undefined;
  if (typeof clientSecret === "string" && !REFERENCE.test(clientSecret) && clientSecret.trim() !== "") {
    out.warnings.push(
      `${formatPath([...at, "auth", "clientSecret"])}: looks like a secret written into the file; set it in the environment and write "\${${envName(name)}_CLIENT_SECRET}"`,
    );
  }
  if (entry["enabled"] === true && entry["disabled"] === true)
    out.errors.push(
      `${formatPath(at)}: "enabled": true and "disabled": true contradict each other; keep one`,
    );
  return out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

/** Every check of this module on a parsed config file. */
export function lintConfig(raw: unknown): Lint {
  const out: Lint = { errors: [], warnings: [] };
  if (!isObject(raw)) return out;
  for (const key of Object.keys(raw)) {
    if (TOP_LEVEL_KEYS.includes(key)) continue;
    const near = TOP_LEVEL_KEYS.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const hint =
      key === "inputs"
        ? "; VS Code inputs are not supported: use ${VAR} references"
        : near !== undefined && !near.startsWith("$")
          ? `; did you mean "${near}"?`
          : "";
    out.warnings.push(`${formatPath([key])}: unknown key (ignored${hint})`);
  }
  for (const map of ["mcpServers", "servers"] as const) {
    const servers = raw[map];
    if (!isObject(servers)) continue;
    for (const [name, entry] of Object.entries(servers)) lintEntry(name, entry, [map, name], out);
  }
  const security = raw["security"];
  const stateKey = isObject(security) ? security["requestStateKey"] : undefined;
  if (typeof stateKey === "string" && !REFERENCE.test(stateKey) && stateKey.trim() !== "")
    out.warnings.push(
      `${formatPath(["security", "requestStateKey"])}: looks like a secret written into the file; set it in the environment and write "\${MCP_STATE_KEY}" (or set AUTONOMOUS_MCP_STATE_KEY)`,
    );
  return out;
}

/** Rewrites `${env:X}` and `%X%` as `${X}`, `${userHome}` as `${HOME}`, in the expanded fields of an entry (for import). */
export function convertPlaceholders(entry: JsonObject, at: Path): { entry: JsonObject; notes: string[] } {
  const notes: string[] = [];
  const rules: [RegExp, (name: string) => string][] = [
    [new RegExp(`\\$\\{env:(${VAR})\\}`, "g"), (n) => n],
    [new RegExp(`%(?![0-9A-F]{2}%)(${UPPER})%`, "g"), (n) => n],
    [/\$\{(userHome)\}/g, () => "HOME"],
  ];
  const convert = (value: string, path: Path): string =>
    rules.reduce(
      (text, [re, name]) =>
        text.replace(re, (m, n: string) => {
          notes.push(`${formatPath(path)}: converted ${m} to \${${name(n)}}`);
          return `\${${name(n)}}`;
        }),
      value,
    );
  const out: JsonObject = { ...entry };
  for (const field of EXPANDED_STRINGS) {
    const v = entry[field];
    if (typeof v === "string") out[field] = convert(v, [...at, field]);
  }
  const args = entry["args"];
  if (Array.isArray(args))
    out["args"] = args.map((a: unknown, i) => (typeof a === "string" ? convert(a, [...at, "args", i]) : a));
  for (const field of EXPANDED_MAPS) {
    const map = entry[field];
    if (!isObject(map)) continue;
    out[field] = Object.fromEntries(
      Object.entries(map).map(([k, v]) => [k, typeof v === "string" ? convert(v, [...at, field, k]) : v]),
    );
  }
  return { entry: out, notes };
}
