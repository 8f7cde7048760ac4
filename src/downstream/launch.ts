import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface LaunchPlan {
  readonly command: string;
  readonly args: readonly string[];
  /** How the command was chosen, for logs and `doctor`: "direct" | "local-package" (npx skipped). */
  readonly via: "direct" | "local-package";
  readonly packageName?: string;
}

const NPX = /^npx(\.cmd)?$/i;
/** npx flags that take no value and may precede the package spec. */
const NPX_FLAGS = new Set(["-y", "--yes", "-q", "--quiet", "--no-install", "--prefer-offline"]);

/**
 * `npx -y @scope/pkg[@version] args…` becomes `node <pkg bin> args…` when the package is installed
 * beside us (our own node_modules or the working directory's): no npx start-up cost (~250 ms) and no
 * npm notices on stderr. Anything else runs as configured; an npx package that is not installed still
 * works through npx.
 */
export function planLaunch(
  command: string,
  args: readonly string[],
  searchFrom: readonly string[],
): LaunchPlan {
  if (!NPX.test(path.basename(command))) return { command, args, via: "direct" };
  let i = 0;
  while (i < args.length && NPX_FLAGS.has(args[i] ?? "")) i++;
  const spec = args[i];
  if (spec === undefined || spec.startsWith("-")) return { command, args, via: "direct" };
  const { name: packageName, version } = splitSpec(spec);
  const found = findPackage(packageName, searchFrom);
  if (!found) return { command, args, via: "direct" };
  // `pkg@1.2.3` runs the installed copy only when it is that very version; a range or a dist-tag other
  // than `latest` is left to npx.
  if (version !== undefined && version !== "latest" && version !== found.version) {
    return { command, args, via: "direct" };
  }
  return {
    command: process.execPath,
    args: [found.bin, ...args.slice(i + 1)],
    via: "local-package",
    packageName,
  };
}

function splitSpec(spec: string): { name: string; version?: string } {
  const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
  if (at === -1) return { name: spec };
  const version = spec.slice(at + 1);
  return version === "" ? { name: spec.slice(0, at) } : { name: spec.slice(0, at), version };
}

/** The directories to look for locally installed servers in: our install, then the working directory. */
export function defaultSearchRoots(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, "..", ".."), process.cwd()];
}

/** Absolute path of a package's JavaScript bin, searching node_modules upwards from each root. */
export function findPackageBin(packageName: string, roots: readonly string[]): string | undefined {
  return findPackage(packageName, roots)?.bin;
}

export interface InstalledPackage {
  /** Absolute path of its JavaScript bin. */
  readonly bin: string;
  /** `version` of its package.json. */
  readonly version?: string;
}

/** The first installed copy of a package with a bin, searching node_modules upwards from each root. */
export function findPackage(packageName: string, roots: readonly string[]): InstalledPackage | undefined {
  for (const root of roots) {
    let dir = path.resolve(root);
    for (;;) {
      const pkgDir = path.join(dir, "node_modules", ...packageName.split("/"));
      const manifest = path.join(pkgDir, "package.json");
      if (existsSync(manifest)) {
        const found = binOf(manifest, packageName);
        if (found) return { ...found, bin: path.join(pkgDir, found.bin) };
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

function binOf(manifestPath: string, packageName: string): InstalledPackage | undefined {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
      bin?: string | Record<string, string>;
      version?: unknown;
    };
    const pick = (bin: string | undefined): InstalledPackage | undefined =>
      bin
        ? { bin, ...(typeof manifest.version === "string" ? { version: manifest.version } : {}) }
        : undefined;
    const { bin } = manifest;
    if (typeof bin === "string") return pick(bin);
    if (!bin) return undefined;
    const unscoped = packageName.split("/").pop() ?? packageName;
    const names = Object.keys(bin);
    const name = names.find((n) => n === unscoped) ?? (names.length === 1 ? names[0] : undefined);
    return pick(name ? bin[name] : undefined);
  } catch {
    return undefined;
  }
}
