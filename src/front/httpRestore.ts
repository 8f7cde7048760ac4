import type { ServerResponse } from "node:http";
import type { Logger } from "../logger.js";
import { jsonError } from "./httpErrors.js";
import type { Principal } from "./principals.js";
import type { SessionTable, TableEntry } from "./sessionTable.js";
import type { SealedSession, SessionSharing } from "./sharing.js";

/**
 * Cluster mode: this replica's copy of a session another replica opened, rebuilt from its sealed id on
 * first sight (docs/adr/0023-sessions-across-replicas.md). Concurrent first requests share one rebuild.
 * The copy counts against the principal's session cap like any session.
 */
export class SessionRestorer<T extends TableEntry> {
  private readonly pending = new Map<string, Promise<T | undefined>>();

  constructor(
    private readonly options: () => { readonly log: Logger },
    private readonly table: () => SessionTable<T>,
    private readonly open: (
      principal: Principal,
      restoring: { readonly id: string; readonly sealed: SealedSession },
    ) => Promise<void>,
  ) {}

  /**
   * The session, or undefined: not sealed by this cluster, another principal's, or deleted (a 404 like
   * any unknown id), or not restorable now (answered here: 429/503 over a cap, 503 without Redis).
   */
  async restore(
    sharing: SessionSharing,
    id: string,
    principal: Principal,
    res: ServerResponse,
  ): Promise<T | undefined> {
    const sealed = sharing.open(id);
    if (sealed?.principal !== principal.name) return undefined;
    let pending = this.pending.get(id);
    if (!pending) {
      pending = (async () => {
        if (await sharing.isDeleted(id)) return undefined;
        const admission = this.table().admit(principal);
        if (!admission.ok) throw Object.assign(new Error(admission.message), { status: admission.status });
        try {
          await this.open(principal, { id, sealed });
        } finally {
          admission.release();
        }
        return this.table().get(id);
      })().finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    try {
      return await pending;
    } catch (error) {
      const status = (error as { status?: number }).status;
      const message = error instanceof Error ? error.message : String(error);
      this.options().log.warn({ session: id, err: message }, "http session not restored");
      jsonError(res, status ?? 503, -32000, status ? message : `Service unavailable: ${message}`);
      return undefined;
    }
  }
}
