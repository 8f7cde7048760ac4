import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode } from "@modelcontextprotocol/server";
import { isAggregatorError } from "../errors.js";

/**
 * How the resilience layers classify a thrown failure. Tool-level failures are `isError` RESULTS and
 * never reach these helpers.
 */

/**
 * The downstream could not be reached or did not answer in time: worth another attempt (if retry-safe).
 * A lost link is SERVER_UNAVAILABLE (classify.ts decides that from the link, not from the code): an
 * ProtocolError -32000 ("Connection closed" is the SDK's use of it) that reaches here is a live server's
 * answer, which many servers use for ordinary failures, and is neither retried nor counted.
 */
export function isTransportFailure(err: unknown): boolean {
  if (isAggregatorError(err)) return err.code === "SERVER_UNAVAILABLE" || err.code === "DOWNSTREAM_TIMEOUT";
  if (err instanceof SdkError) return err.code === SdkErrorCode.RequestTimeout;
  return false;
}

/** The caller asked for something wrong: says nothing about the downstream's health. */
export function isClientFault(err: unknown): boolean {
  if (isAggregatorError(err)) return err.code === "INVALID_ARGUMENTS" || err.code === "UNKNOWN_TOOL";
  if (err instanceof ProtocolError)
    return err.code === ProtocolErrorCode.InvalidParams || err.code === ProtocolErrorCode.MethodNotFound;
  return false;
}

/**
 * Whether a failure is evidence that the server is unhealthy (feeds its circuit breaker).
 * Counts: transport failures, DOWNSTREAM_ERROR, and unexpected errors (a bug or an unclassified transport
 * error). Does not count: client faults, cancellation, our own fast rejections (BREAKER_OPEN, SERVER_BUSY),
 * and any other JSON-RPC error the server answered with — a server that answers is alive, and some
 * (server-github) report every tool failure, 404s included, as -32603.
 */
export function countsForBreaker(err: unknown): boolean {
  if (isTransportFailure(err)) return true;
  if (isAggregatorError(err)) return err.code === "DOWNSTREAM_ERROR";
  if (err instanceof ProtocolError) return false;
  return true;
}
