import type { TaskIds } from "../extensions/tasks.js";
import { randomUUID } from "node:crypto";
import {
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/server";
import type { Catalog } from "../catalog/catalog.js";
import type { DownstreamInput } from "../downstream/types.js";
import { AggregatorError } from "../errors.js";
import type { CallOrigin, InputRound } from "../front/backend.js";
import { errorResult } from "../front/errorMap.js";
import { pickRelayCapabilities } from "../relay.js";
import { HeldCall, HeldCalls } from "./held.js";
import { bridgeState, invalidState, StateCodecs, type BridgeState } from "./state.js";

type Result = Record<string, unknown>;
const NONE: ClientCapabilities = {};

export interface BridgeDeps {
  readonly catalog: (sessionId: string) => Catalog;
  /** The router's tools/call (through the pipeline) with the bridge's input. */
  readonly callTool: (
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    input?: DownstreamInput,
  ) => Promise<CallToolResult>;
  /** A routed request (prompts/get, resources/read) through its guarded path, with the bridge's input. */
  readonly forward: (
    server: string,
    method: string,
    params: Record<string, unknown>,
    origin: CallOrigin,
    input?: DownstreamInput,
  ) => Promise<Result>;
  readonly codecs: StateCodecs;
  readonly held: HeldCalls;
  /** Seals the Tasks ids clients see (src/extensions/tasks.ts), from the same key: replicas share them. */
  readonly taskIds: TaskIds;
}

/**
 * The bridge between the protocol generations (docs/adr/0025-era-bridge.md, docs/protocol-generations.md): a front
 * client's own tools/call, prompts/get and resources/read, in one round of a multi-round-trip exchange.
 *
 * - A modern server's `input_required` goes back to the client verbatim but for its requestState, which
 *   becomes ours: sealed, naming the server and the request and wrapping the server's own. The client's
 *   retry (a 2026-07-28 client's, or the SDK legacy shim's on a 2025-era session, which sends the client
 *   real elicitation / sampling / roots requests) is unsealed and sent to that same server with the
 *   server's requestState.
 * - For a 2026-07-28 client, a 2025-era server's request to the client during the call holds the call
 *   (HeldCall): the client is answered input_required, its retry answers the server's request, and the
 *   call's result (or its next request) answers the retry.
 */
export class Bridge {
  private readonly inputs = new WeakMap<ClientCapabilities, DownstreamInput>();
  /** Our own input_required answers (a held call's): passed on as they are. */
  private readonly ours = new WeakSet<Result>();

  constructor(private readonly deps: BridgeDeps) {}

  get taskIds(): TaskIds {
    return this.deps.taskIds;
  }

  /** The requestState codec of a principal's front sessions (ServerOptions.requestState.verify and mint). */
  codec(principal: string | undefined): ReturnType<StateCodecs["of"]> {
    return this.deps.codecs.of(principal);
  }

  /** A front client's tools/call; without `round` (internal callers), the router's as it is. */
  callTool(
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    round?: InputRound,
  ): Promise<CallToolResult> {
    // No frame of ours on that path: the router's own promise.
    if (!round) return this.deps.callTool(name, args, origin);
    if (round.modern || round.state !== undefined || round.responses !== undefined)
      return this.bridgedCall(name, args, origin, round);
    // The common case, a 2025-era client's first round: the router's promise and one `then`; the input
    // object is made once per capability set.
    return this.deps.callTool(name, args, origin, this.firstInput(origin.clientCapabilities)).then(
      (result) =>
        result["resultType"] === "input_required"
          ? (this.passOn(
              result,
              "tools/call",
              name,
              this.toolServer(name, origin),
              round,
            ) as Promise<CallToolResult>)
          : result,
      (error: unknown) => this.legacyFailure(error, name, round),
    );
  }

  private toolServer(name: string, origin: CallOrigin): () => string | undefined {
    return () => {
      const target = this.deps.catalog(origin.sessionId).resolveTool(name);
      return target?.kind === "downstream" ? target.route.server : undefined;
    };
  }

  /** A 2025-era client lacking a capability the server needs: a tool error it can read (not -32021). */
  private legacyFailure(error: unknown, name: string, round: InputRound): CallToolResult {
    const missing = round.modern ? undefined : missingCapabilities(error);
    if (missing === undefined) throw error;
    return errorResult(
      `${name}: the server needs ${missing} from the client, and this client did not declare the ${missing} capability`,
    );
  }

  private async bridgedCall(
    name: string,
    args: Record<string, unknown>,
    origin: CallOrigin,
    round: InputRound,
  ): Promise<CallToolResult> {
    try {
      return (await this.exchange(
        "tools/call",
        name,
        this.toolServer(name, origin),
        origin,
        round,
        (o, input) => this.deps.callTool(name, args, o, input),
      )) as CallToolResult;
    } catch (error) {
      return this.legacyFailure(error, name, round);
    }
  }

  /** prompts/get and resources/read of a front client (`name`: the prompt name / URI sent downstream). */
  forward(
    server: string,
    method: string,
    params: Record<string, unknown>,
    origin: CallOrigin,
    round?: InputRound,
  ): Promise<Result> {
    if (!round) return this.deps.forward(server, method, params, origin);
    const name = String(params["name"] ?? params["uri"] ?? "");
    return this.exchange(
      method,
      name,
      () => server,
      origin,
      round,
      (o, input) => this.deps.forward(server, method, params, o, input),
    );
  }

  private async exchange(
    method: string,
    name: string,
    serverOf: () => string | undefined,
    origin: CallOrigin,
    round: InputRound,
    call: (origin: CallOrigin, input: DownstreamInput) => Promise<Result>,
  ): Promise<Result> {
    const state = bridgeState(round.state);
    if (state && (state.m !== method || state.n !== name))
      throw invalidState(`it was issued for another request than ${method} ${name}`);
    let result: Result;
    if (state?.k === "held") {
      const held = this.deps.held.take(state.h);
      if (!held)
        throw invalidState(
          "the call it belongs to is no longer held (it timed out, was cancelled or already resumed, or another autonomous-mcp process holds it)",
        );
      held.answer(round.responses);
      result = await this.serve(held, origin, round);
    } else {
      if (state && serverOf() !== state.s)
        throw invalidState(`${name} is no longer served by ${state.s}, which asked for the input`);
      const input: DownstreamInput = {
        responses: round.responses,
        state: state?.d,
        capabilities: this.capabilities(origin.clientCapabilities),
      };
      if (round.modern) {
        const held = new HeldCall(origin, name, method);
        held.run((o) => call(o, input));
        result = await this.serve(held, origin, round);
      } else {
        result = await call(origin, input);
      }
    }
    return await this.passOn(result, method, name, serverOf, round);
  }

  /** One round of a 2026-07-28 client's call: its result, or the server's requests as input_required. */
  private async serve(held: HeldCall, origin: CallOrigin, round: InputRound): Promise<Result> {
    const step = await held.step(origin, randomUUID);
    if (step.kind === "done") return step.result;
    if (step.kind === "failed") throw step.error;
    const requestState = await round.seal({ k: "held", h: step.id, m: held.method, n: held.name });
    if (!this.deps.held.hold(step.id, held)) {
      const error = new AggregatorError(
        "SERVER_BUSY",
        `autonomous-mcp already holds ${this.deps.held.size} calls waiting for their clients' input (bridge.maxHeldCalls); try again later`,
      );
      held.abort(error);
      throw error;
    }
    const asks = { resultType: "input_required", inputRequests: step.inputRequests, requestState };
    this.ours.add(asks);
    return asks;
  }

  /** A modern server's input_required for the client: its requestState wrapped in ours. */
  private async passOn(
    result: Result,
    method: string,
    name: string,
    serverOf: () => string | undefined,
    round: InputRound,
  ): Promise<Result> {
    if (result["resultType"] !== "input_required" || this.ours.has(result)) return result;
    const s = serverOf();
    if (s === undefined)
      throw new ProtocolError(
        ProtocolErrorCode.InternalError,
        `${name} asked for input but has no server now`,
      );
    const own = result["requestState"];
    const payload: BridgeState =
      typeof own === "string"
        ? { k: "pass", s, m: method, n: name, d: own }
        : { k: "pass", s, m: method, n: name };
    return { ...result, requestState: await round.seal(payload) };
  }

  /** The caller's sampling / elicitation / roots: what its requests to a modern server declare. */
  private capabilities(caps: ClientCapabilities | undefined): ClientCapabilities {
    return this.firstInput(caps).capabilities ?? NONE;
  }

  /** The input of a first round (only the caller's capabilities), one per capability set. */
  private firstInput(caps: ClientCapabilities | undefined): DownstreamInput {
    const key = caps ?? NONE;
    let input = this.inputs.get(key);
    if (!input) this.inputs.set(key, (input = { capabilities: pickRelayCapabilities(key) }));
    return input;
  }
}

/** The capabilities a -32021 error names (undefined for any other error). */
function missingCapabilities(error: unknown): string | undefined {
  if (!(error instanceof ProtocolError) || error.code !== ProtocolErrorCode.MissingRequiredClientCapability)
    return undefined;
  const required = (error.data as { requiredCapabilities?: Record<string, unknown> } | undefined)
    ?.requiredCapabilities;
  const names = Object.keys(required ?? {});
  return names.length > 0 ? names.join(" and ") : "a capability";
}
