/**
 * What a stdio child inherits from the aggregator's own environment: a short, documented base list,
 * never the whole environment (an aggregator often holds every server's credentials at once).
 * The entry's own `env` is added on top.
 */
export const INHERITED_ENV_POSIX: readonly string[] = [
  "HOME",
  "LOGNAME",
  "PATH",
  "SHELL",
  "TERM",
  "USER",
  "LANG",
  "LC_ALL",
  "TMPDIR",
  "TZ",
  "NODE_EXTRA_CA_CERTS",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
];

export const INHERITED_ENV_WINDOWS: readonly string[] = [
  "APPDATA",
  "HOMEDRIVE",
  "HOMEPATH",
  "LOCALAPPDATA",
  "PATH",
  "PATHEXT",
  "PROCESSOR_ARCHITECTURE",
  "SYSTEMDRIVE",
  "SYSTEMROOT",
  "TEMP",
  "TMP",
  "USERNAME",
  "USERPROFILE",
  "PROGRAMFILES",
  "COMSPEC",
  "NODE_EXTRA_CA_CERTS",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
];

export function childEnvironment(
  entryEnv: Readonly<Record<string, string>>,
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const names = process.platform === "win32" ? INHERITED_ENV_WINDOWS : INHERITED_ENV_POSIX;
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = parentEnv[name];
    // Skip exported shell functions: a known injection vector.
    if (value !== undefined && !value.startsWith("()")) env[name] = value;
  }
  return { ...env, ...entryEnv };
}
