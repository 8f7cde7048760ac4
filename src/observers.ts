import { basename, dirname } from "node:path";
import type { Aggregator } from "./aggregator.js";
import { AuditLog } from "./audit/log.js";
import type { LoadedConfig } from "./config/load.js";
import {
  listenDashboard,
  setUpDashboard,
  type DashboardServer,
  type DashboardSetup,
} from "./dashboard/setup.js";
import { PrincipalAuth, principalTokens, resolvePrincipals } from "./front/principals.js";
import type { Logger } from "./logger.js";
import { collectSecrets, createScrubber } from "./secrets.js";
import type { WorkflowHostLike } from "./aggregator.js";

/** What watches the calls besides metrics: the audit log and the dashboard (both optional). */
export interface Observers {
  /** The dashboard's handler for the HTTP front (HTTP mode, or with a dashboard port). */
  readonly dashboard: DashboardSetup | undefined;
  /** The loopback dashboard's URL (`--dashboard-port`), when it listens. */
  readonly dashboardUrl: string | undefined;
  readonly audit: AuditLog | undefined;
  /** Closes the dashboard port, then flushes and closes the audit log (after the calls have ended). */
  close(): Promise<void>;
}

export interface ObserverOptions {
  readonly aggregator: Aggregator;
  readonly workflows: WorkflowHostLike | undefined;
  readonly loaded: LoadedConfig;
  readonly log: Logger;
  readonly say: (line: string) => void;
  readonly authToken: string | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  /** The HTTP front's bind address (HTTP mode): its name is an accepted Host, as for the front. */
  readonly httpHost: string | undefined;
  /** `serve --dashboard-port N`: a dashboard on 127.0.0.1:N. */
  readonly dashboardPort: number | undefined;
}

/**
 * Opens the audit log (rejects with CONFIG_INVALID when `audit.file` cannot be written) and sets up the
 * dashboard: for the HTTP front in HTTP mode, and on its own loopback port with `dashboardPort`. A port
 * that cannot be bound is reported and MCP is served without it.
 */
export async function startObservers(o: ObserverOptions): Promise<Observers> {
  const { aggregator, loaded, log } = o;
  const h = loaded.config.http;
  // The config's secrets as of now: a reload may add servers (and their env values) to scrub.
  const tokens = [o.authToken, ...principalTokens(h, o.env)];
  let seen = { config: aggregator.config, secrets: collectSecrets(loaded.servers, tokens) };
  const secrets = (): readonly string[] => {
    const now = aggregator.config;
    if (now !== seen.config) seen = { config: now, secrets: collectSecrets(now.servers, tokens) };
    return seen.secrets;
  };
  let scrubber = { for: secrets(), scrub: createScrubber(secrets()) };
  const scrub = (text: string): string => {
    if (scrubber.for !== secrets()) scrubber = { for: secrets(), scrub: createScrubber(secrets()) };
    return scrubber.scrub(text);
  };
  const a = loaded.config.audit;
  const audit = a.file
    ? await AuditLog.open({
        file: a.file,
        maxBytes: a.maxBytes,
        keep: a.keep,
        includePayloads: a.includePayloads,
        baseDir: dirname(loaded.path),
        log,
        scrub,
      })
    : undefined;
  if (audit) {
    aggregator.calls.set("audit", (event) => audit.record(event));
    log.info({ file: audit.file, payloads: a.includePayloads }, "audit log open");
  }
  let dashboard: DashboardSetup | undefined;
  if (o.httpHost !== undefined || o.dashboardPort !== undefined) {
    const principals = resolvePrincipals(h, o.authToken, o.env, basename(loaded.path));
    const bound =
      o.httpHost === undefined || o.httpHost === "0.0.0.0" || o.httpHost === "::" ? [] : [o.httpHost];
    dashboard = setUpDashboard({
      aggregator,
      workflows: o.workflows,
      auth: new PrincipalAuth(principals, h.maxSessions),
      policy: { allowedHosts: [...h.allowedHosts, ...bound], allowedOrigins: h.allowedOrigins },
      secrets,
      log,
    });
  }
  let server: DashboardServer | undefined;
  if (dashboard && o.dashboardPort !== undefined) {
    try {
      server = await listenDashboard(dashboard.handler, o.dashboardPort);
      o.say(`autonomous-mcp: dashboard on ${server.url}`);
    } catch (error) {
      o.say(
        `autonomous-mcp: warning: the dashboard cannot listen on 127.0.0.1:${o.dashboardPort} (${(error as NodeJS.ErrnoException).code ?? String(error)}); serving MCP without it`,
      );
    }
  }
  let closing: Promise<void> | undefined;
  return {
    dashboard,
    dashboardUrl: server?.url,
    audit,
    close: () =>
      (closing ??= (async () => {
        await server?.close();
        dashboard?.detach();
        aggregator.calls.set("audit", undefined);
        await audit?.close();
      })()),
  };
}
