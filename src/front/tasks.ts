import {
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import * as z from "zod";
import { createdTask, mapTaskIds, TASKS_EXTENSION, TaskIds } from "../extensions/tasks.js";
import type { Catalog } from "../catalog/catalog.js";
import { clientKey, type CallOrigin, type FrontBackend } from "./backend.js";

/**
 * The front half of task routing (src/extensions/tasks.ts): task-augmented tools/call goes to the tool's
 * server, every task id in an answer is sealed for the calling client, and tasks/get, tasks/update,
 * tasks/cancel and tasks/result are opened and sent to the owning server with its own id. tasks/list is
 * not offered: a shared connection's list mixes every client's tasks.
 */
export interface TaskFront {
  readonly ids: TaskIds;
  /** Who the calling client is (a sealed id opens only for the client it was issued to). */
  readonly owner: string;
  catalog(): Catalog;
  /** A routed request to `server` (the guarded request path); its result verbatim. */
  forward(
    server: string,
    method: string,
    params: Record<string, unknown>,
    ctx: ServerContext,
  ): Promise<Record<string, unknown>>;
}

/** The task id seal of this process (random key) when the backend brings none (a shared key for replicas). */
export const PROCESS_TASK_IDS = new TaskIds();

/** True when the union of the downstreams' capabilities has tasks of either generation. */
export function offersTasks(caps: ServerCapabilities): boolean {
  return caps.tasks !== undefined || caps.extensions?.[TASKS_EXTENSION] !== undefined;
}

/**
 * A front session's task routing, or undefined when no server offers tasks. The owner is the session's
 * client: its bearer principal, else the session (a 2026-07-28 request's "session" is its principal).
 */
export function taskFront(
  backend: FrontBackend,
  caps: ServerCapabilities,
  session: { readonly id: string; readonly principal?: string | undefined },
  forward: TaskFront["forward"],
): TaskFront | undefined {
  if (!offersTasks(caps)) return undefined;
  return {
    ids: backend.taskIds ?? PROCESS_TASK_IDS,
    owner: clientKey({ sessionId: session.id, principal: session.principal } as CallOrigin),
    catalog: () => backend.catalog(session.id),
    forward,
  };
}

const unknownTask = (taskId: unknown): ProtocolError =>
  new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task: ${JSON.stringify(taskId)}`);

const TaskParams = z.looseObject({ taskId: z.string(), _meta: z.record(z.string(), z.unknown()).optional() });

/** A tools/call answer with the created task's id sealed (`server` owns the tool). */
export function sealCreated(
  front: TaskFront,
  server: string,
  result: Record<string, unknown>,
): Record<string, unknown> {
  const sealed = mapTaskIds(result, (id) => front.ids.seal(server, id, front.owner));
  // The 2025 SDK front refuses a tools/call answer that has `task` but no `content`.
  return "task" in sealed && sealed["content"] === undefined ? { ...sealed, content: [] } : sealed;
}

/** A front tools/call answer: a created task's id sealed for the tool's server; any other answer as it is. */
export function sealIfTask<T extends object>(front: TaskFront | undefined, tool: string, result: T): T {
  if (front === undefined || !createdTask(result as Record<string, unknown>)) return result;
  const target = front.catalog().resolveTool(tool);
  if (target?.kind !== "downstream") return result;
  return sealCreated(front, target.route.server, result as Record<string, unknown>) as T;
}

/** tools/call with `params.task` (2025-11-25): forwarded verbatim (original tool name) to the tool's server. */
export async function taskAugmentedCall(
  front: TaskFront,
  params: Record<string, unknown>,
  ctx: ServerContext,
): Promise<Record<string, unknown>> {
  const target = front.catalog().resolveTool(String(params["name"]));
  if (target?.kind !== "downstream")
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Tool ${String(params["name"])} cannot run as a task`,
    );
  const { server, originalName } = target.route;
  const result = await front.forward(server, "tools/call", { ...params, name: originalName }, ctx);
  return createdTask(result) ? sealCreated(front, server, result) : result;
}

/** Registers tasks/get, tasks/update, tasks/cancel (both generations) and tasks/result (2025-11-25). */
export function registerTaskHandlers(s: Server, front: () => TaskFront): void {
  const routed = (method: string) => async (params: z.infer<typeof TaskParams>, ctx: ServerContext) => {
    const f = front();
    const route = f.ids.open(params.taskId, f.owner);
    if (!route) throw unknownTask(params.taskId);
    const result = await f.forward(route.server, method, { ...params, taskId: route.taskId }, ctx);
    return mapTaskIds(result, (id) => f.ids.seal(route.server, id, f.owner)) as never;
  };
  // Explicit schemas: tasks/get and tasks/cancel are then served on both generations (the SDK's
  // extension-reuse rule), tasks/update is an extension method, tasks/result stays 2025-only.
  for (const method of ["tasks/get", "tasks/update", "tasks/cancel", "tasks/result"])
    s.setRequestHandler(method, { params: TaskParams }, routed(method));
}
