import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";
import { invalidResult, REJECTED_KEY, toolResultProblem, type Rejection } from "./rejected.js";

/** A refused answer (rejected.ts) as the error its pending request is rejected with. */
export function rejectedError(rejection: Rejection): ProtocolError {
  const error = new ProtocolError(ProtocolErrorCode.InternalError, rejection.detail, {
    [REJECTED_KEY]: rejection.kind,
    detail: rejection.detail,
  });
  error.message = rejection.detail;
  return error;
}

/** The rejection an error stands for, if it is one of ours. */
export function rejectionOf(error: unknown): Rejection | undefined {
  if (!(error instanceof ProtocolError)) return undefined;
  const data = error.data as Record<string, unknown> | undefined;
  const kind = data?.[REJECTED_KEY];
  const detail = data?.["detail"];
  if ((kind === "tooLarge" || kind === "tooDeep" || kind === "invalidResult") && typeof detail === "string")
    return { kind, detail };
  return undefined;
}

/** Passes a tools/call result on, or throws its rejection when it is not one (toolResultProblem). */
export function checkToolResult(result: Record<string, unknown>): Record<string, unknown> {
  const problem = toolResultProblem(result);
  if (problem !== undefined) throw rejectedError(invalidResult(problem));
  return result;
}
