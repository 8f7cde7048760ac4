import { randomUUID } from "node:crypto";
import type { Logger } from "../logger.js";
import type { OAuthSessions } from "./session.js";

/** The calling client as a call-time sign-in sees it (a structural slice of the front's CallOrigin). */
export interface SignInCaller {
  readonly clientCapabilities:
    { readonly elicitation?: { readonly url?: object | undefined } | undefined } | undefined;
  /** A request to the calling client, on the call's own stream. */
  readonly requestClient?:
    | ((
        request: { method: string; params?: unknown },
        signal: AbortSignal,
      ) => Promise<Record<string, unknown>>)
    | undefined;
  readonly signal: AbortSignal;
}

/** True when the caller can be asked to open a URL (it declared the 2025-11-25 elicitation.url capability). */
export function canElicitUrl(caller: SignInCaller): boolean {
  return caller.clientCapabilities?.elicitation?.url !== undefined && caller.requestClient !== undefined;
}

/**
 * When a call finds no usable token (never logged in, refresh refused, access revoked): asks the CALLING
 * client, and no other, to send its user to the authorization URL (a URL-mode `elicitation/create`), while
 * this process runs the authorization-code flow with its own loopback redirect (the same flow as
 * `autonomous-mcp login`). Resolves true once the new tokens are stored (the caller retries the call), false
 * when the client cannot elicit URLs, declines, or nobody signs in within the call's deadline: the call
 * then answers its AUTH_REQUIRED isError naming `autonomous-mcp login SERVER`. One flow per server: calls
 * meeting the same missing token at once share it, each client being asked on its own call.
 */
export async function signInThroughCaller(
  sessions: OAuthSessions,
  server: string,
  caller: SignInCaller,
  deadlineMs: number,
  log: Pick<Logger, "info" | "warn">,
): Promise<boolean> {
  const session = sessions.forServer(server);
  if (!session?.interactive || !canElicitUrl(caller) || !caller.requestClient) return false;
  const signal = AbortSignal.any([caller.signal, AbortSignal.timeout(deadlineMs)]);
  const flow = session.beginSignIn(deadlineMs);
  try {
    const url = await untilAborted(flow.url, signal);
    const answer = await caller.requestClient(
      {
        method: "elicitation/create",
        params: {
          mode: "url",
          elicitationId: randomUUID(),
          url: url.href,
          message:
            `Sign in to "${server}" to continue: its OAuth token is missing, expired or revoked. ` +
            "The call goes on by itself once you have signed in.",
        },
      },
      signal,
    );
    if (answer["action"] !== "accept") {
      log.info({ server, action: answer["action"] }, "OAuth sign-in declined by the client");
      return false;
    }
    await untilAborted(flow.done, signal);
    return true;
  } catch (error) {
    log.warn({ server, reason: (error as Error).message }, "OAuth sign-in through the client failed");
    return false;
  } finally {
    flow.leave();
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", stop, { once: true });
    work.then(
      (v) => (signal.removeEventListener("abort", stop), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", stop), reject(e as Error)),
    );
  });
}
