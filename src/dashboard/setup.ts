import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Aggregator } from "../aggregator.js";
import type { HostPolicy } from "../front/hostCheck.js";
import { jsonError } from "../front/httpErrors.js";
import type { PrincipalAuth } from "../front/principals.js";
import type { Logger } from "../logger.js";
import { scrubForClients } from "../secrets.js";
import type { WorkflowHostLike } from "../aggregator.js";
import { Activity } from "./activity.js";
import { createDashboard, DASHBOARD_PATH, type DashboardHandler } from "./handler.js";

export interface DashboardSetup {
  readonly handler: DashboardHandler;
  readonly activity: Activity;
  /** Stops feeding the dashboard (the call listener and the workflow observer are removed). */
  detach(): void;
}

/**
 * Builds the dashboard of an aggregator and starts feeding it: a call listener on the aggregator's call
 * feed and the workflow host's observer. `secrets` (the config's and the front's tokens) are removed
 * from every error text shown, as the `status` tool does.
 */
export function setUpDashboard(options: {
  readonly aggregator: Aggregator;
  readonly workflows?: WorkflowHostLike | undefined;
  readonly auth: PrincipalAuth;
  readonly policy: HostPolicy;
  /** The secrets to remove now (the config's, after any reload, and the front's tokens). */
  readonly secrets: () => readonly string[];
  readonly log: Logger;
}): DashboardSetup {
  const { aggregator, workflows } = options;
  const scrub = (text: string): string => scrubForClients(text, options.secrets());
  const activity = new Activity({ scrub });
  aggregator.calls.set("dashboard", activity.record);
  if (workflows) workflows.observer = activity;
  const handler = createDashboard({
    aggregator,
    activity,
    auth: options.auth,
    allowedHosts: options.policy.allowedHosts,
    allowedOrigins: options.policy.allowedOrigins,
    scrub,
    log: options.log,
  });
  return {
    handler,
    activity,
    detach: () => {
      aggregator.calls.set("dashboard", undefined);
      if (workflows?.observer === activity) workflows.observer = undefined;
    },
  };
}

export interface DashboardServer {
  /** http://127.0.0.1:PORT/dashboard/ */
  readonly url: string;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/**
 * The stdio mode's dashboard (`serve --dashboard-port N`): an HTTP server on 127.0.0.1 only, serving
 * nothing but the dashboard. Rejects when the port cannot be bound.
 */
export async function listenDashboard(handler: DashboardHandler, port: number): Promise<DashboardServer> {
  const server: Server = createServer((req, res) => {
    if (!handler(req, res))
      jsonError(res, 404, -32000, `Not found: this port serves only the dashboard, at ${DASHBOARD_PATH}/`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}${DASHBOARD_PATH}/`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
