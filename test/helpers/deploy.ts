/**
 * Reading the deployment files (Dockerfile, deploy/) for the tests that check them without Docker or a
 * Kubernetes cluster: test/integration/deploy-manifests.test.ts and deploy-image.test.ts.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT } from "./aggregator.js";

export const DEPLOY = path.join(ROOT, "deploy");
export const K8S = path.join(DEPLOY, "k8s");

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** The Dockerfile's instructions (comments dropped, `\` continuations joined), grouped into stages. */
export function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? "";
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? "";
      if (/^\s*#/.test(next)) continue;
      joined = `${joined.replace(/\s*\\\s*$/, "")} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(joined);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: not an instruction: ${first}`);
    instructions.push({ keyword: (m[1] ?? "").toUpperCase(), args: (m[2] ?? "").trim(), line: start + 1 });
  }
  const args: Instruction[] = [];
  const stages: { from: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: FROM not understood: ${ins.args}`);
      stages.push({ from: m[1] ?? "", name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      args.push(ins);
    } else stages[stages.length - 1]?.instructions.push(ins);
  }
  return { args, stages };
}

export const readDockerfile = () => parseDockerfile(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));

/** The JSON (exec) form of CMD / HEALTHCHECK CMD / ENTRYPOINT; the shell form is refused. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string"))
    throw new Error(`not the exec form (a JSON array of strings): ${args}`);
  return parsed as string[];
}

/** ENV instructions of a stage (`ENV A=1 B=2` and `ENV A 1`), in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === "ENV")) {
    if (!ins.args.includes("=")) {
      const [k, ...v] = ins.args.split(/\s+/);
      if (k) env[k] = v.join(" ");
      continue;
    }
    for (const m of ins.args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g))
      env[m[1] ?? ""] = (m[2] ?? "").replace(/^"(.*)"$/, "$1");
  }
  return env;
}

/** The HEALTHCHECK's options and its exec-form command. */
export function healthcheck(stage: Stage): { options: Record<string, string>; command: string[] } {
  const ins = stage.instructions.find((i) => i.keyword === "HEALTHCHECK");
  if (!ins) throw new Error("no HEALTHCHECK in the stage");
  const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(.*)$/.exec(ins.args);
  if (!m) throw new Error(`HEALTHCHECK not understood: ${ins.args}`);
  const options = Object.fromEntries(
    [...(m[1] ?? "").matchAll(/--([\w-]+)=(\S+)/g)].map((o) => [o[1] ?? "", o[2] ?? ""]),
  );
  return { options, command: execForm(m[2] ?? "") };
}

/** The last stage's CMD (exec form). */
export function imageCmd(stage: Stage): string[] {
  const cmds = stage.instructions.filter((i) => i.keyword === "CMD");
  const last = cmds[cmds.length - 1];
  if (!last) throw new Error("no CMD in the stage");
  return execForm(last.args);
}

/** Every YAML document of a file, as plain data; a YAML error throws with the file named. */
export function yamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { merge: true });
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const [error] = doc.errors;
    if (error) throw new Error(`${path.relative(ROOT, file)}: ${error.message}`);
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Every manifest under deploy/k8s/ (kustomization.yaml apart), with the file it came from. */
export function k8sObjects(): { file: string; object: K8sObject }[] {
  return readdirSync(K8S)
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .sort()
    .flatMap((f) =>
      yamlDocuments(path.join(K8S, f))
        .filter((d) => d !== null)
        .map((object) => ({ file: f, object: object as K8sObject })),
    );
}

export function findObject(kind: string, name: string): K8sObject {
  const found = k8sObjects().find((o) => o.object.kind === kind && o.object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found.object;
}

/**
 * deploy/nginx.conf with its upstream servers and its port replaced (for a run on loopback ports); with
 * `prefix`, its temporary files go there and access logging is off (nginx's own defaults are the system's
 * /var/lib/nginx and /var/log/nginx).
 */
export function nginxConfFor(upstreams: Record<string, string>, listen: string, prefix?: string): string {
  let conf = readFileSync(path.join(DEPLOY, "nginx.conf"), "utf8");
  for (const [from, to] of Object.entries(upstreams)) {
    const re = new RegExp(`(\\bserver\\s+)${from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\s|;)`, "g");
    if (!re.test(conf)) throw new Error(`deploy/nginx.conf has no upstream server ${from}`);
    conf = conf.replace(re, `$1${to}$2`);
  }
  if (!/^\s*listen\s+8080;/m.test(conf)) throw new Error("deploy/nginx.conf does not listen on 8080");
  conf = conf.replace(/^(\s*)listen\s+8080;/m, `$1listen ${listen};`);
  if (prefix === undefined) return conf;
  const own = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${path.join(prefix, `${t}_temp`)};`)
    .join("\n");
  return conf.replace(/^http \{$/m, `http {\n${own}\n  access_log off;`);
}

/** The `server host:port` lines of the nginx upstream block. */
export function nginxUpstreams(conf: string): string[] {
  const block = /upstream\s+\w+\s*\{([^}]*)\}/.exec(conf)?.[1] ?? "";
  return [...block.matchAll(/^\s*server\s+(\S+?)(?:\s|;)/gm)].map((m) => m[1] ?? "");
}
