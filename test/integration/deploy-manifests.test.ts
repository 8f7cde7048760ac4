/**
 * The deployment files checked offline (no Docker engine, no cluster, no network): the Kubernetes manifests
 * against the API schemas (helpers/k8s-validate.ts) and against one another, the compose file, the nginx
 * config (`nginx -t` on a copy), and the Dockerfile's invariants. Running the image's entry command:
 * deploy-image.test.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, tempDir, type TempDir } from "../helpers/aggregator.js";
import {
  DEPLOY,
  K8S,
  execForm,
  findObject,
  healthcheck,
  imageCmd,
  k8sObjects,
  nginxConfFor,
  nginxUpstreams,
  parseDockerfile,
  readDockerfile,
  stageEnv,
  yamlDocuments,
  type K8sObject,
} from "../helpers/deploy.js";
import { schemaErrors, strictFieldErrors } from "../helpers/k8s-validate.js";

const NGINX = "/usr/sbin/nginx";

const REMOVE = Symbol("remove");

/** A deep copy with the value at `at` (keys and array indexes) replaced, or removed with REMOVE. */
function edited(object: K8sObject, at: readonly (string | number)[], value: unknown): K8sObject {
  const copy = structuredClone(object);
  let node: unknown = copy;
  for (const key of at.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  const parent = node as Record<string | number, unknown>;
  const last = at[at.length - 1] ?? "";
  if (value === REMOVE) delete parent[last];
  else parent[last] = value;
  return copy;
}

type Container = {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  readinessProbe?: { exec?: { command: string[] }; httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  command?: string[];
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string> };
};

function podSpec(deployment: K8sObject): {
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
  securityContext?: Record<string, unknown>;
} {
  return (deployment.spec as { template: { spec: ReturnType<typeof podSpec> } }).template.spec;
}

const CONTAINER = ["spec", "template", "spec", "containers", 0] as const;

describe("Kubernetes manifests (deploy/k8s)", () => {
  const objects = k8sObjects();

  it("holds every kind the deployment needs, each valid against the Kubernetes schemas", async () => {
    const kinds = objects.map((o) => `${o.object.apiVersion} ${o.object.kind}`);
    for (const k of [
      "apps/v1 Deployment",
      "v1 Service",
      "v1 ConfigMap",
      "v1 Secret",
      "policy/v1 PodDisruptionBudget",
      "autoscaling/v2 HorizontalPodAutoscaler",
    ])
      expect(kinds, k).toContain(k);
    for (const { file, object } of objects)
      expect(await schemaErrors(object), `${file} ${object.kind} ${object.metadata.name}`).toEqual([]);
  });

  it("has no unknown field anywhere (strict field validation, as kubectl apply does)", () => {
    const errors = strictFieldErrors(
      objects.map(({ file, object }) => ({ label: `${file} ${object.kind}`, object })),
    );
    for (const [label, list] of Object.entries(errors)) expect(list, label).toEqual([]);
  }, 60_000);

  it("refuses a manifest with a wrong type, a missing required field, an unknown field or kind", async () => {
    const deployment = findObject("Deployment", "autonomous-mcp");
    expect(await schemaErrors(edited(deployment, ["spec", "replicas"], "3"))).toEqual([
      expect.stringContaining("data/spec/replicas must be integer"),
    ]);
    expect(
      await schemaErrors(edited(deployment, [...CONTAINER, "livenessProbe", "httpGet", "port"], REMOVE)),
    ).toEqual([expect.stringMatching(/livenessProbe\/httpGet must have required property '?port/)]);
    expect(await schemaErrors({ apiVersion: "apps/v1", kind: "Deploymnet" })).toEqual([
      "unknown apiVersion/kind apps/v1 Deploymnet",
    ]);
    const probe = podSpec(deployment).containers[0]?.readinessProbe;
    const typo = edited(
      edited(deployment, [...CONTAINER, "readinessProbe"], REMOVE),
      [...CONTAINER, "readinesProbe"],
      probe,
    );
    // The schemas let an unknown field through; the strict check names it and where it is.
    expect(await schemaErrors(typo)).toEqual([]);
    const { typo: errors = [] } = strictFieldErrors([{ label: "typo", object: typo }]);
    expect(errors).toEqual([
      expect.stringMatching(
        /^spec\.template\.spec\.containers\.readinesProbe: .*'"?readinesProbe"?' does not exist in type 'IContainer'/,
      ),
    ]);
  }, 60_000);

  it("Deployment: readiness on /readyz, liveness on /healthz, the port the image exposes, no command override", () => {
    const deployment = findObject("Deployment", "autonomous-mcp");
    const spec = podSpec(deployment);
    expect(spec.containers).toHaveLength(1);
    const [c] = spec.containers as [Container];
    const runtime = readDockerfile().stages.at(-1);
    const exposed = runtime?.instructions.find((i) => i.keyword === "EXPOSE")?.args;
    expect(c.ports).toEqual([{ name: "http", containerPort: Number(exposed) }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    // /readyz needs the token: the probe runs in the container with AUTONOMOUS_MCP_TOKEN (run for real
    // in deploy-image.test.ts).
    const probe = c.readinessProbe?.exec?.command ?? [];
    expect(probe.slice(0, 2)).toEqual(["node", "-e"]);
    expect(probe[2]).toContain(`http://127.0.0.1:${exposed}/readyz`);
    expect(probe[2]).toContain("process.env.AUTONOMOUS_MCP_TOKEN");
    // The image's CMD runs as it is (deploy-image.test.ts runs that CMD).
    expect(c.command).toBeUndefined();
    expect(c.args).toBeUndefined();
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    // The HPA scales on CPU utilization: it needs a CPU request.
    expect(c.resources?.requests?.["cpu"]).toBeDefined();
  });

  it("Deployment, Service, PDB, HPA, ConfigMap, Secret and claim refer to one another by the right names", () => {
    const deployment = findObject("Deployment", "autonomous-mcp");
    const dspec = deployment.spec as {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    expect(dspec.template.metadata.labels).toMatchObject(dspec.selector.matchLabels);
    const service = findObject("Service", "autonomous-mcp");
    expect(dspec.template.metadata.labels).toMatchObject(service.spec?.["selector"] as object);
    expect(service.spec?.["ports"]).toEqual([{ name: "http", port: 3000, targetPort: "http" }]);
    expect(service.spec?.["sessionAffinity"]).toBeUndefined();
    const pdb = findObject("PodDisruptionBudget", "autonomous-mcp");
    expect((pdb.spec?.["selector"] as { matchLabels: object }).matchLabels).toEqual(
      dspec.selector.matchLabels,
    );
    const hpa = findObject("HorizontalPodAutoscaler", "autonomous-mcp");
    expect(hpa.spec?.["scaleTargetRef"]).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "autonomous-mcp",
    });
    const minReplicas = hpa.spec?.["minReplicas"] as number;
    expect(minReplicas).toBe(dspec.replicas);
    // The budget never lets a drain take every replica.
    expect(pdb.spec?.["maxUnavailable"]).toBeLessThan(minReplicas);

    const spec = podSpec(deployment);
    const [c] = spec.containers as [Container];
    const secret = findObject("Secret", "autonomous-mcp");
    const secretKeys = Object.keys(secret["stringData"] as object);
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      expect(ref.name, e.name).toBe("autonomous-mcp");
      expect(secretKeys, e.name).toContain(ref.key);
    }
    expect((c.env ?? []).map((e) => e.name)).toEqual(
      expect.arrayContaining(["AUTONOMOUS_MCP_TOKEN", "AUTONOMOUS_MCP_REDIS_URL"]),
    );
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    const configVolume = spec.volumes.find((v) => v.configMap);
    expect(configVolume?.configMap?.name).toBe("autonomous-mcp-config");
    // The ConfigMap's key lands where the image looks for its config (AUTONOMOUS_MCP_CONFIG).
    const runtime = readDockerfile().stages.at(-1);
    const configPath = runtime ? stageEnv(runtime)["AUTONOMOUS_MCP_CONFIG"] : undefined;
    expect(`${mounts[configVolume?.name ?? ""]}/servers.config.json`).toBe(configPath);
    const claim = spec.volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    expect(claim).toBe("autonomous-mcp-data");
    findObject("PersistentVolumeClaim", "autonomous-mcp-data");
    // Everything lives in one namespace, the one kustomization.yaml sets and the config's allowedHosts name.
    for (const { file, object } of objects)
      if (object.kind !== "Namespace") expect(object.metadata.namespace, file).toBe("autonomous-mcp");
  });

  it("the ConfigMap holds deploy/servers.config.json, a config `autonomous-mcp validate` accepts", () => {
    const configMap = findObject("ConfigMap", "autonomous-mcp-config");
    const text = (configMap["data"] as Record<string, string>)["servers.config.json"] ?? "";
    const file = path.join(DEPLOY, "servers.config.json");
    expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(file, "utf8")));
    const res = spawnSync(process.execPath, [CLI, "validate", "-c", file], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", HOME: ROOT },
    });
    expect(res.status, res.stderr + res.stdout).toBe(0);
    expect(res.stdout + res.stderr).toMatch(/valid \(2 servers\)/);
    // The Service's names are accepted as Host by the replicas.
    const hosts = (JSON.parse(text) as { http: { allowedHosts: string[] } }).http.allowedHosts;
    expect(hosts).toEqual(expect.arrayContaining(["autonomous-mcp", "autonomous-mcp.autonomous-mcp.svc"]));
  });

  it("kustomization.yaml lists every manifest but the Secret, which is created by hand", () => {
    const [kustomization] = yamlDocuments(path.join(K8S, "kustomization.yaml")) as [
      { resources: string[]; namespace: string },
    ];
    expect(kustomization.namespace).toBe("autonomous-mcp");
    const files = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== "secret.yaml").sort());
  });

  it("a YAML error in a manifest is reported with its file", async () => {
    const tmp = await tempDir();
    try {
      const bad = path.join(tmp.dir, "bad.yaml");
      writeFileSync(bad, "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n   namespace: y\n");
      expect(() => yamlDocuments(bad)).toThrow(/bad\.yaml: .+/);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("deploy/compose.yaml", () => {
  const [compose] = yamlDocuments(path.join(DEPLOY, "compose.yaml")) as [
    {
      services: Record<
        string,
        {
          image?: string;
          build?: { context: string; dockerfile: string };
          command?: string[];
          environment?: Record<string, string>;
          volumes?: string[];
          depends_on?: Record<string, { condition: string }>;
          healthcheck?: { test: string[] };
          ports?: string[];
          init?: boolean;
        }
      >;
      volumes: Record<string, unknown>;
    },
  ];
  const runtime = readDockerfile().stages.at(-1);
  if (!runtime) throw new Error("the Dockerfile has no stage");
  const replicas = Object.keys(compose.services).filter((s) => s.startsWith("replica-"));

  it("has Redis, three replicas of the image with --redis, and nginx", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["nginx", "redis", ...replicas].sort());
    expect(replicas).toEqual(["replica-1", "replica-2", "replica-3"]);
    for (const name of replicas) {
      const r = compose.services[name];
      expect(r?.build, name).toEqual({ context: "..", dockerfile: "Dockerfile" });
      expect(existsSync(path.join(DEPLOY, r?.build?.context ?? "", r?.build?.dockerfile ?? ""))).toBe(true);
      // The image's own CMD plus the shared state; nothing else differs from the image.
      expect(r?.command, name).toEqual([...imageCmd(runtime), "--redis", "redis://redis:6379"]);
      expect(r?.environment?.["AUTONOMOUS_MCP_TOKEN"], name).toMatch(/^\$\{AUTONOMOUS_MCP_TOKEN:\?.+\}$/);
      expect(r?.depends_on, name).toEqual({ redis: { condition: "service_healthy" } });
      // The config is mounted where the image reads it; the memory server's /data is one shared volume.
      expect(r?.volumes, name).toEqual([
        `./servers.config.json:${stageEnv(runtime)["AUTONOMOUS_MCP_CONFIG"]}:ro`,
        "memory-data:/data",
      ]);
      expect(r?.init, name).toBe(true);
      // No healthcheck of its own: the image's HEALTHCHECK (/healthz) applies.
      expect(r?.healthcheck, name).toBeUndefined();
    }
    expect(Object.keys(compose.volumes)).toEqual(["memory-data"]);
    expect(healthcheck(runtime).command.join(" ")).toContain("/healthz");
  });

  it("starts nginx only when every replica is healthy, and Redis has a health check", () => {
    expect(compose.services["redis"]?.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    const nginx = compose.services["nginx"];
    expect(nginx?.depends_on).toEqual(
      Object.fromEntries(replicas.map((r) => [r, { condition: "service_healthy" }])),
    );
    expect(nginx?.volumes).toEqual(["./nginx.conf:/etc/nginx/nginx.conf:ro"]);
    expect(nginx?.ports).toEqual(["8080:8080"]);
    expect(nginx?.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:8080/healthz");
  });

  it("nginx's upstream is exactly the replicas, on the port the image listens on", () => {
    const conf = readFileSync(path.join(DEPLOY, "nginx.conf"), "utf8");
    const cmd = imageCmd(runtime);
    const port = cmd[cmd.indexOf("--port") + 1];
    expect(nginxUpstreams(conf)).toEqual(replicas.map((r) => `${r}:${port}`));
    // No affinity (ip_hash, hash, sticky): any replica answers any request.
    expect(conf).not.toMatch(/^\s*(ip_hash|hash|sticky)\b/m);
    expect(conf).toMatch(/proxy_buffering off;/);
  });
});

describe("deploy/nginx.conf", () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir("amcp-nginx-");
    mkdirSync(path.join(tmp.dir, "logs"));
  });
  afterAll(() => tmp.cleanup());

  /** `nginx -t` on a copy with loopback upstreams and its own prefix, pid and error log. */
  function nginxTest(conf: string): { status: number | null; output: string } {
    const file = path.join(tmp.dir, "nginx.conf");
    writeFileSync(file, conf);
    const res = spawnSync(
      NGINX,
      ["-t", "-p", tmp.dir, "-c", file, "-e", "stderr", "-g", `pid ${path.join(tmp.dir, "nginx.pid")};`],
      { encoding: "utf8" },
    );
    return { status: res.status, output: res.stdout + res.stderr };
  }

  const loopback = {
    "replica-1:3000": "127.0.0.1:3001",
    "replica-2:3000": "127.0.0.1:3002",
    "replica-3:3000": "127.0.0.1:3003",
  };

  it("passes `nginx -t`", () => {
    const { status, output } = nginxTest(nginxConfFor(loopback, "127.0.0.1:18080", tmp.dir));
    expect(output).toMatch(/syntax is ok/);
    expect(status, output).toBe(0);
  });

  it("a broken copy fails `nginx -t` with the line named", () => {
    const broken = nginxConfFor(loopback, "127.0.0.1:18080", tmp.dir).replace(
      "proxy_buffering off;",
      "proxy_buffering off",
    );
    const { status, output } = nginxTest(broken);
    expect(status).not.toBe(0);
    expect(output).toMatch(/nginx\.conf:\d+/);
  });

  it("rewriting a server the file does not have is refused (the test would check nothing)", () => {
    expect(() => nginxConfFor({ "replica-9:3000": "127.0.0.1:1" }, "127.0.0.1:1")).toThrow(
      "deploy/nginx.conf has no upstream server replica-9:3000",
    );
  });
});

describe("Dockerfile", () => {
  const { args, stages } = readDockerfile();
  const runtime = stages.at(-1);
  if (!runtime) throw new Error("the Dockerfile has no stage");
  const build = stages.find((s) => s.name === "build");

  it("is multi-stage: a build stage with dev dependencies, a runtime stage with production ones and dist/", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "runtime"]);
    expect(args.map((a) => a.args)).toEqual([expect.stringMatching(/^NODE_IMAGE=node:20\.20-/)]);
    for (const s of stages) expect(s.from).toBe("${NODE_IMAGE}");
    const runs = (s: typeof runtime) =>
      s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args.replace(/--mount=\S+\s+/g, ""));
    expect(build && runs(build)).toEqual(["npm ci --ignore-scripts", "npm run build"]);
    expect(runs(runtime)).toEqual(["npm ci --omit=dev --ignore-scripts", "install -d -o node -g node /data"]);
    expect(runtime.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args)).toEqual([
      "package.json package-lock.json .npmrc ./",
      "--from=build /app/dist ./dist",
    ]);
  });

  it("runs as a non-root user, with a HEALTHCHECK on /healthz and the serve command", () => {
    const users = runtime.instructions.filter((i) => i.keyword === "USER").map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    // Nothing after USER runs as root again (RUN, COPY without --chown would be owned by root but harmless).
    const userAt = runtime.instructions.findIndex((i) => i.keyword === "USER");
    expect(runtime.instructions.slice(userAt).filter((i) => i.keyword === "RUN")).toEqual([]);
    const hc = healthcheck(runtime);
    expect(hc.command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(hc.command[2]).toContain("http://127.0.0.1:3000/healthz");
    expect(Object.keys(hc.options).sort()).toEqual(["interval", "retries", "start-period", "timeout"]);
    expect(imageCmd(runtime)).toEqual([
      "node",
      "dist/cli.js",
      "serve",
      "--host",
      "0.0.0.0",
      "--port",
      "3000",
    ]);
    expect(runtime.instructions.find((i) => i.keyword === "EXPOSE")?.args).toBe("3000");
    expect(runtime.instructions.some((i) => i.keyword === "ENTRYPOINT")).toBe(false);
    expect(stageEnv(runtime)).toEqual({
      NODE_ENV: "production",
      AUTONOMOUS_MCP_CONFIG: "/etc/autonomous-mcp/servers.config.json",
    });
  });

  it(".dockerignore lets in exactly what the COPY instructions take from the context", () => {
    const ignore = readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    const allowed = ignore.slice(1).map((l) => {
      expect(l.startsWith("!"), l).toBe(true);
      return l.slice(1).replace(/\/$/, "");
    });
    const copied = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect([...new Set(copied)].sort()).toEqual([...allowed].sort());
    for (const f of allowed) expect(existsSync(path.join(ROOT, f)), f).toBe(true);
  });

  it("the parser refuses what it does not understand (so a check cannot pass on a misread file)", () => {
    expect(() => parseDockerfile("RUN true\n")).toThrow("Dockerfile line 1: RUN before FROM");
    expect(() => parseDockerfile("FROM a b c\n")).toThrow("FROM not understood");
    expect(() => execForm("node dist/cli.js serve")).toThrow();
    expect(() => execForm('["node", 1]')).toThrow("not the exec form");
    const parsed = parseDockerfile('FROM x AS a\n# c\nRUN one \\\n  # inner\n  two\nCMD ["a"]\n');
    expect(parsed.stages[0]?.instructions.map((i) => [i.keyword, i.args])).toEqual([
      ["RUN", "one two"],
      ["CMD", '["a"]'],
    ]);
  });
});
