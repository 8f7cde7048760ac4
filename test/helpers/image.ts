/**
 * The Dockerfile's runtime stage without Docker (these machines have no Docker engine): its instructions
 * are carried out into a directory that stands for the image's file system, and its CMD runs from there.
 * - `WORKDIR`, `ENV`, `COPY` from the build context: as Docker does, under the stand-in root.
 * - `COPY --from=build <build WORKDIR>/dist`: dist/ out of the `npm pack` tarball (what the build stage
 *   builds; the tests run after `npm run build`).
 * - `RUN npm ci …`: the same command with `--offline` (the npm cache; no registry in tests).
 * - `RUN install -d … DIR`: the directory (ownership cannot be given without root, and is not tested).
 * - `USER`, `EXPOSE`, `HEALTHCHECK`, `CMD`: read, not carried out.
 * Anything else fails, so the stand-in cannot silently drift from the Dockerfile.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DEPLOY, imageCmd, readDockerfile, stageEnv, type Stage } from "./deploy.js";
import { ROOT } from "./aggregator.js";
import { npm, packInto } from "./packed.js";

export interface StandInImage {
  /** The stand-in for the image's `/`. */
  readonly root: string;
  /** ENV of the runtime stage, image paths mapped under `root`. */
  readonly env: Record<string, string>;
  readonly workdir: string;
  readonly cmd: readonly string[];
  readonly stage: Stage;
  /** An image path (`/app/x`) as a path of the stand-in. */
  at(imagePath: string): string;
}

export function buildStandIn(root: string): StandInImage {
  const { stages } = readDockerfile();
  const stage = stages.at(-1);
  const build = stages.find((s) => s.name === "build");
  if (!stage || !build) throw new Error("the Dockerfile needs a build stage and a runtime stage");
  const at = (p: string) => path.join(root, p);
  const buildWorkdir = build.instructions.find((i) => i.keyword === "WORKDIR")?.args ?? "/";
  let workdir = "/";
  for (const ins of stage.instructions) {
    const where = `Dockerfile line ${ins.line}`;
    const args = ins.args.replace(/--mount=\S+\s+/g, "");
    switch (ins.keyword) {
      case "WORKDIR":
        workdir = path.posix.resolve(workdir, args);
        mkdirSync(at(workdir), { recursive: true });
        break;
      case "ENV":
      case "USER":
      case "EXPOSE":
      case "HEALTHCHECK":
      case "CMD":
        break;
      case "COPY": {
        const parts = args.split(/\s+/);
        const dest = path.posix.resolve(workdir, parts.pop() ?? "");
        const from = /^--from=(\S+)$/.exec(parts[0] ?? "");
        if (from) {
          const [src] = parts.slice(1);
          if (from[1] !== "build" || src !== path.posix.join(buildWorkdir, "dist"))
            throw new Error(`${where}: the stand-in takes only the build stage's dist/, not ${args}`);
          copyPackedDist(root, at(dest));
        } else {
          for (const src of parts) {
            const target = parts.length > 1 || dest.endsWith("/") ? path.join(at(dest), src) : at(dest);
            cpSync(path.join(ROOT, src), target, { recursive: true });
          }
        }
        break;
      }
      case "RUN": {
        const ci = /^npm (ci(?: --[\w=-]+)*)$/.exec(args);
        const dir = /^install -d -o \S+ -g \S+ (\/\S+)$/.exec(args);
        if (ci) {
          const res = npm([...(ci[1] ?? "").split(" "), "--offline"], at(workdir), 300_000);
          if (res.status !== 0) throw new Error(`${where}: ${args} failed:\n${res.stderr}`);
        } else if (dir) mkdirSync(at(dir[1] ?? ""), { recursive: true });
        else throw new Error(`${where}: the stand-in does not know how to run: ${args}`);
        break;
      }
      default:
        throw new Error(`${where}: the stand-in does not know ${ins.keyword}`);
    }
  }
  const env = Object.fromEntries(
    Object.entries(stageEnv(stage)).map(([k, v]) => [k, v.startsWith("/") ? at(v) : v]),
  );
  return { root, env, workdir: at(workdir), cmd: imageCmd(stage), stage, at };
}

/** dist/ of the packed tarball, unpacked into `dest`. */
function copyPackedDist(root: string, dest: string): void {
  const packDir = path.join(root, "..", "pack");
  mkdirSync(packDir, { recursive: true });
  const { tarball } = packInto(packDir);
  execFileSync("tar", ["-xzf", tarball], { cwd: packDir });
  cpSync(path.join(packDir, "package", "dist"), dest, { recursive: true });
}

/**
 * deploy/servers.config.json "mounted" where the image reads it (ENV AUTONOMOUS_MCP_CONFIG), its image
 * paths (/app/…, /data/…) mapped into the stand-in.
 */
export function mountConfig(image: StandInImage): string {
  const text = readFileSync(path.join(DEPLOY, "servers.config.json"), "utf8");
  const mapped = JSON.parse(text, (_key, value: unknown) =>
    typeof value === "string" && /^\/(app|data)\//.test(value) ? image.at(value) : value,
  ) as unknown;
  const target = image.env["AUTONOMOUS_MCP_CONFIG"];
  if (!target) throw new Error("the image sets no AUTONOMOUS_MCP_CONFIG");
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(mapped, null, 2));
  return target;
}

/** A command of the image (CMD, HEALTHCHECK, a probe) with the image's port 3000 replaced by `port`. */
export function onPort(command: readonly string[], port: number): string[] {
  return command.map((a, i) =>
    command[i - 1] === "--port" && a === "3000"
      ? String(port)
      : a.replace("127.0.0.1:3000/", `127.0.0.1:${port}/`),
  );
}

export interface Replica {
  readonly child: ChildProcess;
  readonly port: number;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Runs the image's CMD (or `command`, e.g. compose's, which adds --redis) on `port` from the stand-in's
 * WORKDIR (node is this Node), and waits for its "listening on" line.
 */
export async function startReplica(
  image: StandInImage,
  port: number,
  env: Record<string, string>,
  command: readonly string[] = image.cmd,
): Promise<Replica> {
  const [exe, ...args] = onPort(command, port);
  if (exe !== "node") throw new Error(`the command does not start node: ${command.join(" ")}`);
  const child = spawn(process.execPath, args, {
    cwd: image.workdir,
    env: { PATH: process.env["PATH"] ?? "", HOME: image.at("/home/node"), ...image.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr:\n${err}`)), 30_000);
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
      if (/listening on http:\/\//.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the CMD exited with ${code}; stderr:\n${err}`));
    });
  });
  return {
    child,
    port,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
