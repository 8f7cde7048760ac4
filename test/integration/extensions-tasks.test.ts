import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  type GetTaskResult,
} from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { modernHttpClient } from "../helpers/modern.js";
import {
  ROOT,
  startHttp,
  tempDir,
  writeConfig,
  type HttpHarness,
  type TempDir,
} from "../helpers/aggregator.js";

const FIXTURE = path.join(ROOT, "test", "fixtures", "extensions-server.mjs");
const V2_SERVER = path.join(ROOT, "test", "fixtures", "v2-server.mjs");
const entry = (name: string): Record<string, unknown> => ({
  command: process.execPath,
  args: [FIXTURE, "--name", name],
});
const Any = z.looseObject({});

/**
 * Tasks (2025-11-25 task-augmented tools/call) through the aggregator's HTTP front, two task servers behind
 * it and two clients in front: a task id a client sees is sealed (server + task + client), tasks/* reach the
 * owning server, and an id of another client, a tampered id or a server's raw id is refused as unknown.
 */
describe("extensions: tasks routed to the owning server", () => {
  let tmp: TempDir;
  let h: HttpHarness;
  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    tmp = await tempDir();
    h = await startHttp(await writeConfig(tmp.dir, { mcpServers: { one: entry("one"), two: entry("two") } }));
    [alice, bob] = await Promise.all([h.connect(), h.connect()]);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  const startJob = async (client: Client, tool: string, args: Record<string, unknown>) =>
    (
      await client.request(
        { method: "tools/call", params: { name: tool, arguments: args, task: { ttl: 60_000 } } },
        CreateTaskResultSchema,
      )
    ).task;

  const getTask = (client: Client, taskId: string): Promise<GetTaskResult> =>
    client.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema);

  async function until(client: Client, taskId: string, status: string): Promise<GetTaskResult> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const task = await getTask(client, taskId);
      if (task.status === status || Date.now() > deadline) return task;
      await new Promise((r) => setTimeout(r, 50)); // polling interval of a condition wait with a deadline
    }
  }

  it("advertises tasks (tools/call, cancel) because the servers do, and not tasks/list", () => {
    expect(alice.getServerCapabilities()?.tasks).toEqual({ cancel: {}, requests: { tools: { call: {} } } });
  });

  it("creates a task on the tool's server with a sealed id, and gets its status and result there", async () => {
    const task = await startJob(alice, "two_job_two", { label: "build" });
    expect(task.taskId).toMatch(/^amt1\./);
    expect(task.status).toBe("working");
    const done = await until(alice, task.taskId, "completed");
    expect(done).toMatchObject({ taskId: task.taskId, status: "completed" });
    const result = await alice.request({ method: "tasks/result", params: { taskId: task.taskId } }, Any);
    expect(result["content"]).toEqual([{ type: "text", text: "job build done by two" }]);
    const related = (result["_meta"] as Record<string, { taskId?: string }> | undefined)?.[
      "io.modelcontextprotocol/related-task"
    ];
    if (related) expect(related.taskId).toBe(task.taskId);
  });

  it("keeps two servers' tasks apart and cancels on the owner", async () => {
    const held = await startJob(alice, "one_job_one", { label: "long", hold: true });
    const other = await startJob(alice, "two_job_two", { label: "short" });
    expect(held.taskId).not.toBe(other.taskId);
    const cancelled = await alice.request({ method: "tasks/cancel", params: { taskId: held.taskId } }, Any);
    expect(cancelled).toMatchObject({ taskId: held.taskId, status: "cancelled" });
    expect((await getTask(alice, held.taskId)).status).toBe("cancelled");
    expect((await until(alice, other.taskId, "completed")).status).toBe("completed");
  });

  it("refuses another client's task id, a tampered one and a server's raw one as unknown (-32602)", async () => {
    const task = await startJob(alice, "one_job_one", { label: "private", hold: true });
    await expect(getTask(bob, task.taskId)).rejects.toThrow(/-32602.*Unknown task/);
    await expect(
      bob.request({ method: "tasks/cancel", params: { taskId: task.taskId } }, Any),
    ).rejects.toThrow(/Unknown task/);
    const tampered = task.taskId.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    await expect(getTask(alice, tampered)).rejects.toThrow(/Unknown task/);
    await expect(getTask(alice, "0123456789abcdef")).rejects.toThrow(/Unknown task/);
    // Bob's failures changed nothing: the task is still Alice's, still working.
    expect((await getTask(alice, task.taskId)).status).toBe("working");
    // And an ordinary call still works for both.
    const r = await bob.request(
      { method: "tools/call", params: { name: "one_echo_one", arguments: { message: "hi" } } },
      CallToolResultSchema,
    );
    expect(r.content).toEqual([{ type: "text", text: "one: hi" }]);
  });

  it("serves tasks/get to a 2026-07-28 client with the same seal: a 2025 session's task is not its own", async () => {
    const task = await startJob(alice, "one_job_one", { label: "era", hold: true });
    const modern = await modernHttpClient(h.url);
    try {
      const job = (await modern.listTools()).tools.find((t) => t.name === "one_job_one");
      expect(job).toBeDefined();
      expect(job?.execution).toBeUndefined(); // 2025-era vocabulary, stripped by the SDK for 2026-07-28
      await expect(
        modern.request({ method: "tasks/get", params: { taskId: task.taskId } }, Any),
      ).rejects.toThrow(/Unknown task/);
    } finally {
      await modern.close();
    }
    expect((await getTask(alice, task.taskId)).status).toBe("working");
  });

  it("answers tasks/list -32601: a shared connection's list would mix clients", async () => {
    await expect(alice.request({ method: "tasks/list", params: {} }, Any)).rejects.toThrow(/-32601/);
  });
});

describe("extensions: no tasks capability when no server offers tasks", () => {
  let tmp: TempDir;
  let h: HttpHarness;

  beforeAll(async () => {
    tmp = await tempDir();
    h = await startHttp(
      await writeConfig(tmp.dir, {
        mcpServers: { plain: { command: process.execPath, args: [V2_SERVER, "--era", "legacy"] } },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await tmp?.cleanup();
  });

  it("does not advertise tasks and answers tasks/get -32601", async () => {
    const client = await h.connect();
    expect(client.getServerCapabilities()?.tasks).toBeUndefined();
    await expect(client.request({ method: "tasks/get", params: { taskId: "x" } }, Any)).rejects.toThrow(
      /-32601/,
    );
  });
});
