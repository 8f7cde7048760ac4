/**
 * The image without Docker (no engine on these machines): the Dockerfile's runtime stage carried out into a
 * stand-in root (helpers/image.ts: production dependencies by `npm ci --omit=dev --offline`, dist/ from the
 * packed tarball), deploy/servers.config.json mounted where the image reads it, and the image's exact CMD
 * run from there. Its HEALTHCHECK command and the Kubernetes readiness probe's command run against it,
 * compose's replica command (the CMD + --redis) joins a real redis-server, and deploy/nginx.conf runs in
 * front of two such replicas and a dead one.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, waitFor, type TempDir } from "../helpers/aggregator.js";
import { DEPLOY, findObject, healthcheck, nginxConfFor, yamlDocuments } from "../helpers/deploy.js";
import { startRedis } from "../helpers/redis.js";
import { INIT, post, sdkClient, send } from "../helpers/http-raw.js";
import {
  buildStandIn,
  mountConfig,
  onPort,
  startReplica,
  type Replica,
  type StandInImage,
} from "../helpers/image.js";

const TOKEN = "deploy-image-test-token-0123456789";

/** A port nothing listens on right now (the OS picks it; closed again before use). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a probe command of the image (node -e …) the way Docker or the kubelet does; its exit code. */
function probe(command: readonly string[], port: number, env: Record<string, string> = {}): number | null {
  const [exe, ...args] = onPort(command, port);
  expect(exe).toBe("node");
  const res = spawnSync(process.execPath, args, {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    encoding: "utf8",
    timeout: 10_000,
  });
  return res.status;
}

function readinessCommand(): string[] {
  const deployment = findObject("Deployment", "autonomous-mcp");
  const spec = deployment.spec as {
    template: { spec: { containers: { readinessProbe: { exec: { command: string[] } } }[] } };
  };
  return spec.template.spec.containers[0]?.readinessProbe.exec.command ?? [];
}

describe("the image's runtime stage and CMD, without Docker", () => {
  let tmp: TempDir;
  let image: StandInImage;
  let replica: Replica;
  beforeAll(async () => {
    tmp = await tempDir("amcp-image-");
    image = buildStandIn(path.join(tmp.dir, "root"));
    mountConfig(image);
    replica = await startReplica(image, await freePort(), { AUTONOMOUS_MCP_TOKEN: TOKEN });
  }, 300_000);
  afterAll(async () => {
    await replica?.stop();
    await tmp?.cleanup();
  });

  it("holds production dependencies only, and dist/ from the packed tarball", () => {
    const modules = path.join(image.workdir, "node_modules");
    expect(existsSync(path.join(modules, "@modelcontextprotocol", "server-memory"))).toBe(true);
    for (const dev of ["typescript", "vitest", "kubernetes-models", "@postman"])
      expect(existsSync(path.join(modules, dev)), dev).toBe(false);
    expect(existsSync(path.join(image.workdir, "dist", "cli.js"))).toBe(true);
    expect(existsSync(path.join(image.workdir, "src"))).toBe(false);
  });

  it("without AUTONOMOUS_MCP_TOKEN the CMD refuses to bind 0.0.0.0: exit 2 and the reason", async () => {
    const [, ...args] = onPort(image.cmd, await freePort());
    const res = spawnSync(process.execPath, args, {
      cwd: image.workdir,
      env: { PATH: process.env["PATH"] ?? "", HOME: image.at("/home/node"), ...image.env },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("refusing to listen on 0.0.0.0 without an auth token");
  }, 60_000);

  it("answers the HEALTHCHECK command (/healthz) and the readiness probe's command (/readyz, with the token)", async () => {
    expect(probe(healthcheck(image.stage).command, replica.port)).toBe(0);
    expect(probe(readinessCommand(), replica.port, { AUTONOMOUS_MCP_TOKEN: TOKEN })).toBe(0);
    // The probe fails on a wrong token, and both fail when nothing listens.
    expect(probe(readinessCommand(), replica.port, { AUTONOMOUS_MCP_TOKEN: "wrong" })).toBe(1);
    const closed = await freePort();
    expect(probe(healthcheck(image.stage).command, closed)).toBe(1);
    expect(probe(readinessCommand(), closed, { AUTONOMOUS_MCP_TOKEN: TOKEN })).toBe(1);

    const base = `http://127.0.0.1:${replica.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ready: boolean; servers: { name: string; state: string }[] };
    expect(body.ready).toBe(true);
    expect(body.servers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "memory", state: "ready" }),
        // No GITHUB_PERSONAL_ACCESS_TOKEN: skipped, as the Secret's empty github-token leaves it.
        expect.objectContaining({ name: "github", state: "skipped" }),
      ]),
    );
  }, 60_000);

  it("serves the mounted config's tools over MCP; the memory server writes under /data", async () => {
    const { client } = await sdkClient(`http://127.0.0.1:${replica.port}/mcp`, TOKEN);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("memory_create_entities");
      const result = await client.callTool({
        name: "memory_create_entities",
        arguments: { entities: [{ name: "image", entityType: "test", observations: ["stand-in"] }] },
      });
      expect(result.isError ?? false).toBe(false);
    } finally {
      await client.close();
    }
    expect(readFileSync(image.at("/data/memory.jsonl"), "utf8")).toContain('"name":"image"');
  }, 60_000);

  it("compose's replica command (the CMD + --redis) joins a real Redis: /readyz shows the cluster link", async () => {
    const [compose] = yamlDocuments(path.join(DEPLOY, "compose.yaml")) as [
      { services: Record<string, { command?: string[] }> },
    ];
    const command = compose.services["replica-1"]?.command ?? [];
    expect(command.slice(-2)).toEqual(["--redis", "redis://redis:6379"]);
    const redis = await startRedis();
    let clustered: Replica | undefined;
    try {
      clustered = await startReplica(
        image,
        await freePort(),
        { AUTONOMOUS_MCP_TOKEN: TOKEN },
        command.map((a) => (a === "redis://redis:6379" ? redis.url : a)),
      );
      const base = `http://127.0.0.1:${clustered.port}`;
      let body: { ready?: boolean; cluster?: { state?: string } } = {};
      await waitFor(async () => {
        const res = await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
        body = (await res.json()) as typeof body;
        return res.status === 200;
      }, 20_000);
      expect(body.ready).toBe(true);
      expect(body.cluster?.state).toBe("ready");
    } finally {
      await clustered?.stop();
      await redis.cleanup();
    }
  }, 60_000);

  describe("behind deploy/nginx.conf (two replicas and a dead one)", () => {
    let second: Replica;
    let nginx: ChildProcess;
    let nginxErr = "";
    let front: string;
    beforeAll(async () => {
      second = await startReplica(image, await freePort(), { AUTONOMOUS_MCP_TOKEN: TOKEN });
      const dead = await freePort();
      const listen = await freePort();
      const prefix = path.join(tmp.dir, "nginx");
      mkdirSync(prefix);
      const conf = path.join(prefix, "nginx.conf");
      writeFileSync(
        conf,
        nginxConfFor(
          {
            "replica-1:3000": `127.0.0.1:${replica.port}`,
            "replica-2:3000": `127.0.0.1:${second.port}`,
            "replica-3:3000": `127.0.0.1:${dead}`,
          },
          `127.0.0.1:${listen}`,
          prefix,
        ),
      );
      nginx = spawn(
        "/usr/sbin/nginx",
        [
          "-p",
          prefix,
          "-c",
          conf,
          "-e",
          "stderr",
          "-g",
          `pid ${path.join(prefix, "nginx.pid")}; daemon off;`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      nginx.stderr?.on("data", (c: Buffer) => (nginxErr += c.toString("utf8")));
      front = `http://127.0.0.1:${listen}`;
      await waitFor(async () => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxErr}`);
        return fetch(`${front}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      }, 20_000);
    }, 120_000);
    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once("exit", r));
        nginx.kill("SIGQUIT");
        await exited;
      }
      await second?.stop();
    });

    it("every request is answered although one upstream refuses connections", async () => {
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${front}/healthz`);
        expect(res.status, `request ${i}`).toBe(200);
      }
      const ready = await fetch(`${front}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ready.status).toBe(200);
      // nginx logged the refused upstream and went on.
      expect(nginxErr).toMatch(/connect\(\) failed \(111: Connection refused\)/);
    });

    it("passes MCP through: the client's Host is accepted, initialize answers with a session", async () => {
      const res = await post(
        `${front}/mcp`,
        { authorization: `Bearer ${TOKEN}`, accept: "application/json, text/event-stream" },
        INIT,
      );
      expect(res.status, res.body).toBe(200);
      expect(res.headers["mcp-session-id"]).toBeTruthy();
      expect(res.body).toContain('"serverInfo"');
      // A name the replicas were not told about is refused by them, through nginx.
      const foreign = await send(`${front}/readyz`, "GET", {
        authorization: `Bearer ${TOKEN}`,
        host: "evil.example",
      });
      expect(foreign.status).toBe(403);
    });
  });
});
