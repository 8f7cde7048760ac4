import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isObject } from "../jsonrpc/isObject.js";

/**
 * Tasks: a server may answer a tools/call with a task (2025-11-25: the client asked with `params.task`, the
 * answer is `{ task: { taskId, status, … } }`; the `io.modelcontextprotocol/tasks` extension of 2026-07-28:
 * the server decides, the answer is `resultType: "task"` with a top-level `taskId`), which the client then
 * follows with `tasks/get`, `tasks/update`, `tasks/cancel` (and, 2025-11-25, `tasks/result`).
 *
 * Behind an aggregator two servers may both have task "1", and two clients share one connection to a
 * server. So the task id a client sees is sealed: it names the owning server, the server's own task id and
 * the client it was issued to, with an HMAC over the three. A tasks/* request is routed by opening it: an id
 * that was not issued by this aggregator (or was tampered with) or that was issued to another client is
 * refused exactly like an unknown task (-32602), and nothing reaches any server.
 */

/** The 2026-07-28 extension id (SEP-2663). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** Where a task-related message names its task (2025-11-25 `_meta`). */
export const RELATED_TASK_KEY = "io.modelcontextprotocol/related-task";

const PREFIX = "amt1.";

export interface TaskRoute {
  readonly server: string;
  /** The server's own task id. */
  readonly taskId: string;
}

/** Seals and opens the task ids clients see. The key is random per process unless one is given (≥ 32 bytes). */
export class TaskIds {
  private readonly key: Uint8Array;

  constructor(key?: Uint8Array) {
    if (key !== undefined && key.length < 32) throw new Error("the task id key must have at least 32 bytes");
    this.key = key ?? randomBytes(32);
  }

  /** The id `owner` sees for `server`'s task `taskId`. */
  seal(server: string, taskId: string, owner: string): string {
    const body = Buffer.from(JSON.stringify([server, taskId]), "utf8").toString("base64url");
    return `${PREFIX}${body}.${this.mac(body, owner)}`;
  }

  /** The route of a sealed id issued to `owner`; undefined for any other string. */
  open(sealed: unknown, owner: string): TaskRoute | undefined {
    if (typeof sealed !== "string" || !sealed.startsWith(PREFIX) || sealed.length > 4_096) return undefined;
    const [body, mac, extra] = sealed.slice(PREFIX.length).split(".");
    if (body === undefined || mac === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.mac(body, owner), "utf8");
    const given = Buffer.from(mac, "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
      if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
      const [server, taskId] = parsed as unknown[];
      if (typeof server !== "string" || typeof taskId !== "string") return undefined;
      return { server, taskId };
    } catch {
      return undefined;
    }
  }

  private mac(body: string, owner: string): string {
    return createHmac("sha256", this.key).update(owner).update("\u0000").update(body).digest("base64url");
  }
}

type Json = Record<string, unknown>;

/**
 * A copy of a task-bearing result with every task id in it mapped by `map`: the top-level `taskId` (a
 * 2026 CreateTaskResult, any tasks/get or tasks/cancel answer), `task.taskId` (a 2025 CreateTaskResult),
 * `tasks[].taskId` (tasks/list) and `_meta["io.modelcontextprotocol/related-task"].taskId`. The same
 * object when it has none.
 */
export function mapTaskIds(result: Json, map: (taskId: string) => string): Json {
  let out = result;
  const copy = (): Json => (out === result ? (out = { ...result }) : out);
  if (typeof result["taskId"] === "string") copy()["taskId"] = map(result["taskId"]);
  const task = result["task"];
  if (isObject(task) && typeof task["taskId"] === "string")
    copy()["task"] = { ...task, taskId: map(task["taskId"]) };
  const tasks = result["tasks"];
  if (Array.isArray(tasks))
    copy()["tasks"] = tasks.map((t: unknown) =>
      isObject(t) && typeof t["taskId"] === "string" ? { ...t, taskId: map(t["taskId"]) } : t,
    );
  const meta = result["_meta"];
  const related = isObject(meta) ? meta[RELATED_TASK_KEY] : undefined;
  if (isObject(meta) && isObject(related) && typeof related["taskId"] === "string")
    copy()["_meta"] = { ...meta, [RELATED_TASK_KEY]: { ...related, taskId: map(related["taskId"]) } };
  return out;
}

/** True when a tools/call answer created a task instead of returning the tool's result. */
export function createdTask(result: Json): boolean {
  return result["resultType"] === "task" || (isObject(result["task"]) && result["content"] === undefined);
}
