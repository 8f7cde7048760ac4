import type { Client } from "@modelcontextprotocol/client";
import type { Transport } from "@modelcontextprotocol/client";
import type { CallToolResult, Implementation, ServerCapabilities } from "@modelcontextprotocol/client";
import { errorMessage } from "../errors.js";
import { cutText } from "../secrets.js";
import { checkToolResult } from "../jsonrpc/rejectedError.js";
import { RestartBudget } from "./backoff.js";
import { EMPTY_CATALOG, fetchCatalog, fetchKind, Relister, sameCatalog } from "./listing.js";
import type { DownstreamCatalog } from "./listing.js";
import type { LaunchPlan } from "./launch.js";
import { cancelledError, classifyFailure, describeVersionMismatch, isPermanent } from "./classify.js";
import { unavailableError, versionMismatch } from "./classify.js";
import { endpointOf, reconnectAfter, VerdictCache, verdictOf } from "./verdicts.js";
import { ChangeStream, changeStreamOf } from "./listen.js";
import { PassThroughResult } from "../jsonrpc/passThrough.js";
import { createDownstreamClient } from "./client.js";
import { createTransport } from "./transports.js";
import type { ConnectionDeps, ConnectionSettings, ForwardOptions, ServerState } from "./types.js";
import { bridged, requestOptions } from "./input.js";
import { waitForChange } from "./waitForChange.js";

/** Failed health checks in a row after which a server counts as hung and is connected again. */
const HEALTH_FAILURES = 2;

export type { ConnectionDeps, ConnectionHooks, ConnectionSettings } from "./types.js";
export type { DownstreamInput, ForwardOptions, ServerRequestKind, ServerState } from "./types.js";

/** One downstream server: its SDK Client, its state, its catalog, and its supervision. */
export class DownstreamConnection {
  state: ServerState = "starting";
  lastError: { message: string; at: number } | undefined;
  restarts = 0;
  connectMs: number | undefined;
  launch: LaunchPlan | undefined;
  capabilities: ServerCapabilities | undefined;
  serverInfo: Implementation | undefined;
  /** The protocol version the last connect negotiated (2026-07-28 through server/discover, or initialize's). */
  protocolVersion: string | undefined;
  /** The last connect negotiated the modern era (server/discover, no session). */
  modern = false;
  instructions: string | undefined;
  catalog: DownstreamCatalog = EMPTY_CATALOG;
  /** The last lines the server wrote to stderr (for doctor and failure hints). */
  readonly stderrTail: string[] = [];

  private client: Client | undefined;
  private transport: Transport | undefined;
  /** Link number per client: the calls that fail on one lost link are one incident (the breaker counts one). */
  private readonly links = new WeakMap<Client, number>();
  private linkSeq = 0;
  /** The transport of a connect in progress (start or restart), so close() can stop it too. */
  private connecting: Transport | undefined;
  private readonly budget: RestartBudget;
  private readonly verdicts: VerdictCache;
  private readonly waiters = new Set<() => void>();
  private restartTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private stopping = false;
  private readonly now: () => number;

  constructor(
    readonly settings: ConnectionSettings,
    private readonly deps: ConnectionDeps,
  ) {
    this.budget = new RestartBudget(settings.restart);
    this.verdicts = deps.verdicts ?? new VerdictCache();
    this.now = deps.now ?? Date.now;
  }

  get name(): string {
    return this.settings.name;
  }

  get pid(): number | undefined {
    return (this.transport as { pid?: number } | undefined)?.pid;
  }
  /** Ends an HTTP server's MCP session (DELETE) where it can: per-client connections, before close. */
  async endSession(): Promise<void> {
    await (this.transport as { terminateSession?: () => Promise<void> } | undefined)?.terminateSession?.();
  }

  /** First connection. Resolves when ready or failed (never rejects); a failure schedules restarts. */
  async start(): Promise<void> {
    await this.connectOnce().catch((error: unknown) => this.onConnectFailure(error));
    this.scheduleHealthCheck();
  }

  /** One connect; `again` is set when a failed one asked for another at once (verdicts.ts reconnectAfter). */
  private async connectOnce(again?: "legacy" | "probe"): Promise<void> {
    const started = this.now();
    this.setState(this.restarts === 0 && this.state !== "restarting" ? "starting" : "restarting");
    // The last 20 stderr lines (doctor shows them), each cut to 500 characters.
    const onStderrLine = (line: string): void =>
      void (this.stderrTail.push(cutText(line, 500)) > 20 && this.stderrTail.shift());
    // The first start may adopt a process the CLI spawned while the aggregator was still loading.
    const prespawned = this.restarts === 0 ? this.deps.takePrespawned?.(this.name) : undefined;
    if (prespawned && "onStderrLine" in prespawned.transport) {
      (prespawned.transport as { onStderrLine?: (line: string) => void }).onStderrLine = onStderrLine;
    }
    const { transport, launch } =
      prespawned ?? (await createTransport(this.settings, this.deps.log, onStderrLine));
    this.launch = launch;
    // Stopped (shutdown) while the transport was being made: it must not start a process now.
    if (this.stopping) return void (await transport.close().catch(() => undefined));
    const client = this.newClient();
    const timeout = this.settings.connectTimeoutMs;
    const endpoint = endpointOf(this.settings);
    if (again === "legacy") this.verdicts.set(this.name, endpoint, { kind: "legacy" });
    // The verdict of an earlier connect: no server/discover probe again (verdicts.ts).
    const prior = this.verdicts.get(this.name, endpoint);
    this.connecting = transport;
    try {
      await client.connect(transport, prior ? { timeout, prior } : { timeout });
      const capabilities = client.getServerCapabilities();
      const catalog = await fetchCatalog(client, capabilities, timeout);
      if (this.stopping) return void (await transport.close().catch(() => undefined));
      this.client = client;
      this.links.set(client, ++this.linkSeq);
      this.transport = transport;
      this.capabilities = capabilities;
      this.serverInfo = client.getServerVersion();
      this.protocolVersion = client.getNegotiatedProtocolVersion();
      this.modern = client.getProtocolEra() === "modern";
      this.verdicts.set(this.name, endpoint, verdictOf(client));
      this.instructions = client.getInstructions();
      this.connectMs = this.now() - started;
      const changed = !sameCatalog(this.catalog, catalog);
      this.catalog = catalog;
      client.onclose = () => this.onTransportClosed(transport);
      // A modern server's changes come on a subscriptions/listen stream (also standing in for resources/subscribe).
      this.changes = changeStreamOf(client, capabilities, () => this.client === client, this.deps.log);
      this.setState("ready");
      if (changed) this.deps.hooks.onCatalogChanged?.(this.name);
    } catch (error) {
      await transport.close().catch(() => undefined);
      // A verdict that failed is dropped, but not the one a probe-ending exit just gave (one extra spawn, ever).
      if (prior && again !== "legacy") this.verdicts.forget(this.name);
      const next = again || this.stopping ? undefined : reconnectAfter(error, prior !== undefined);
      if (!next) throw error;
      // That second process counts as a restart (budget permitting: doctor allows none, and still gets it).
      if (next === "legacy" && this.budget.next(this.now()) !== undefined) this.restarts++;
      this.deps.log.info({ err: errorMessage(error), next }, "connecting again at once with a new verdict");
      return await this.connectOnce(next);
    } finally {
      if (this.connecting === transport) this.connecting = undefined;
    }
  }

  private newClient(): Client {
    return createDownstreamClient(this.settings, this.deps, (kind) => void this.relister.request(kind));
  }

  /** list_changed, coalesced per kind (10,000 notifications are not 10,000 lists); real changes are told. */
  private readonly relister = new Relister(async (kind) => {
    const client = this.client;
    if (!client || this.state !== "ready") return;
    const part = await fetchKind(client, this.capabilities, kind, this.settings.connectTimeoutMs).catch(
      (error: unknown) =>
        void this.deps.log.warn({ err: errorMessage(error) }, "could not refresh the server's lists"),
    );
    if (!part || this.client !== client) return; // failed, or reconnected meanwhile (that connect listed all)
    const catalog = { ...this.catalog, ...part };
    if (sameCatalog(this.catalog, catalog)) return;
    this.catalog = catalog;
    this.deps.hooks.onCatalogChanged?.(this.name);
  });

  private onConnectFailure(failure: unknown): void {
    // No protocol version in common: said once, naming both sides' versions, and never retried.
    const mismatch = versionMismatch(failure);
    const error = mismatch ? describeVersionMismatch(this.name, mismatch) : failure;
    this.recordError(error);
    const message = errorMessage(error);
    this.deps.log.warn({ err: message }, "server failed to connect");
    if (isPermanent(failure)) {
      this.setState("failed", message);
      return;
    }
    this.scheduleRestart(message);
  }

  private onTransportClosed(transport: Transport): void {
    if (this.transport !== transport) return;
    this.client = undefined;
    this.transport = undefined;
    if (this.stopping) return;
    const reason = "the server process exited or the connection closed";
    this.recordError(new Error(reason));
    this.deps.log.warn("server connection lost");
    this.scheduleRestart(reason);
  }

  private scheduleRestart(reason: string): void {
    if (this.stopping) return;
    const delay = this.budget.next(this.now());
    if (delay === undefined) {
      this.setState(
        "failed",
        `restart budget spent (${this.settings.restart.maxRestarts} in ${this.settings.restart.windowMs} ms): ${reason}`,
      );
      this.scheduleRecovery();
      return;
    }
    this.setState("restarting", reason);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.connectOnce().catch((error: unknown) => this.onConnectFailure(error));
    }, delay);
    this.restartTimer.unref();
  }

  /**
   * A failed server is not given up for good: once per restart window one more start is tried (a
   * server that needed a network, a disk or a credential fixed outside may be back). Success restores
   * the full restart budget.
   */
  private scheduleRecovery(): void {
    if (this.stopping) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping || this.state !== "failed") return;
      this.restarts++;
      this.connectOnce().then(
        () => this.budget.reset(),
        (error: unknown) => {
          this.recordError(error);
          this.setState("failed", `recovery attempt failed: ${errorMessage(error)}`);
          this.scheduleRecovery();
        },
      );
    }, this.settings.restart.windowMs);
    this.restartTimer.unref();
  }

  private setState(state: ServerState, reason?: string): void {
    if (this.state === state && state !== "failed") return;
    this.state = state;
    this.deps.hooks.onStateChange?.(this.name, state, reason);
    if (state !== "starting" && state !== "restarting") {
      for (const wake of [...this.waiters]) wake();
    }
  }

  private recordError(error: unknown): void {
    this.lastError = { message: errorMessage(error), at: this.now() };
  }

  /** The live client, waiting through a start or restart up to the caller's deadline. */
  async whenReady(signal: AbortSignal, deadlineAt: number): Promise<Client> {
    for (;;) {
      if (this.state === "ready" && this.client) return this.client;
      if (this.state === "failed" || this.state === "stopped")
        throw unavailableError(this, `is unavailable: ${this.lastError?.message ?? this.state}`);
      const wait = deadlineAt - this.now();
      if (wait <= 0) throw unavailableError(this, `is ${this.state} and did not come back in time`);
      if (signal.aborted) throw cancelledError(this.name);
      await waitForChange(this.waiters, wait, signal, () => cancelledError(this.name));
      if (signal.aborted) throw cancelledError(this.name);
    }
  }

  /** tools/call on the downstream. Throws AggregatorError for transport trouble; ProtocolError passes through. */
  callTool(
    name: string,
    args: Record<string, unknown>,
    meta: Record<string, unknown> | undefined,
    options: ForwardOptions,
    deadlineAt: number,
  ): Promise<CallToolResult> {
    const params: Record<string, unknown> = { name, arguments: args };
    if (meta) params["_meta"] = meta;
    return this.send("tools/call", params, options, deadlineAt) as Promise<CallToolResult>;
  }

  /** Any request to the downstream, result kept verbatim. */
  send(
    method: string,
    params: Record<string, unknown>,
    options: ForwardOptions,
    deadlineAt: number,
  ): Promise<Record<string, unknown>> {
    const client = this.state === "ready" ? this.client : undefined;
    if (client) return this.sendOn(client, method, params, options);
    // Not ready: wait (bounded by the deadline and the call's signal); that wait's failures are not classified.
    return this.whenReady(options.signal, deadlineAt).then((ready) =>
      this.sendOn(ready, method, params, options),
    );
  }

  /** No async frame: the SDK Client's request promise plus one catch (and the tools/call shape check). */
  private sendOn(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    options: ForwardOptions,
  ): Promise<Record<string, unknown>> {
    this.lastActivity = this.now();
    const sent =
      this.changes && ChangeStream.owns(method)
        ? this.changes.request(method, params)
        : client.request(
            bridged(method, params, options, this.modern),
            PassThroughResult,
            requestOptions(options),
          );
    const checked = method === "tools/call" ? sent.then(checkToolResult) : sent;
    return checked.catch((error: unknown) => {
      throw classifyFailure(error, {
        server: this.name,
        current: this.client === client,
        incident: `${this.name}#${this.links.get(client) ?? 0}`,
        lastError: this.lastError?.message,
        method,
        params,
        timeoutMs: options.timeoutMs,
        aborted: options.signal.aborted,
        onSessionExpired: () => void this.reconnect("session expired (HTTP 404)"),
      });
    });
  }

  /** A notification to the downstream (cancel, roots changed, ...). Silently dropped when not connected. */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    await this.client?.notification({ method, params } as never).catch(() => undefined);
  }

  /** Drops the current link and connects again (HTTP session loss, failed health checks). */
  async reconnect(reason: string): Promise<void> {
    const transport = this.transport;
    if (!transport || this.stopping) return;
    this.transport = undefined;
    this.client = undefined;
    this.recordError(new Error(reason));
    this.setState("restarting", reason);
    await transport.close().catch(() => undefined);
    await this.connectOnce().catch((error: unknown) => this.onConnectFailure(error));
  }

  /** Stops a hung server (its group is killed after the grace period) and restarts it within the budget. */
  private async restartHung(reason: string): Promise<void> {
    const transport = this.transport;
    if (!transport || this.stopping) return;
    this.transport = undefined;
    this.client = undefined;
    this.recordError(new Error(reason));
    this.deps.log.warn({ reason }, "server hung: restarting it");
    await transport.close().catch(() => undefined);
    this.scheduleRestart(reason);
  }

  private scheduleHealthCheck(): void {
    const interval = this.settings.healthCheckIntervalMs;
    if (interval <= 0 || this.stopping) return;
    this.healthTimer = setInterval(() => void this.healthCheck(), interval);
    this.healthTimer.unref();
  }

  private async healthCheck(): Promise<void> {
    const client = this.client;
    if (!client || this.state !== "ready") return;
    if (this.now() - this.lastActivity < this.settings.healthCheckIntervalMs) return;
    try {
      const timeout = Math.min(10_000, this.settings.healthCheckIntervalMs);
      // 2026-07-28 has no ping: server/discover is the cheap request every modern server answers.
      await (this.modern ? client.discover({ timeout }) : client.ping({ timeout }));
      this.healthFailures = 0;
    } catch (error) {
      if (this.client !== client) return;
      this.recordError(error);
      this.deps.hooks.onHealthFailure?.(this.name, error);
      // A server that stops answering pings is hung: after two in a row, connect again (for stdio:
      // its process group is stopped and it is started anew, within the restart budget).
      if (++this.healthFailures >= HEALTH_FAILURES) {
        this.healthFailures = 0;
        void this.restartHung(`${HEALTH_FAILURES} health checks in a row failed`);
      }
    }
  }

  private healthFailures = 0;
  private changes: ChangeStream | undefined;
  /** Stops the server for good: no more restarts; the process group is terminated. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    const transport = this.transport;
    // A start or restart still connecting has a live process (group) too: stop it as well.
    const connecting = this.connecting;
    this.transport = undefined;
    this.connecting = undefined;
    this.client = undefined;
    this.setState("stopped");
    await Promise.all([transport?.close(), connecting?.close()].map((p) => p?.catch(() => undefined)));
  }
}
