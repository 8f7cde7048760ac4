import type { Principal } from "./principals.js";

/** What the table needs of a session: its owner, when it was last used and whether a request is open. */
export interface TableEntry {
  readonly principal: string;
  lastSeen: number;
  /** Requests of this session being answered now (an open GET stream included). */
  active: number;
}

export type Admission<T extends TableEntry> =
  | {
      readonly ok: true;
      /** The principal's own session to close first (over its cap, or the ceiling reached), if any. */
      readonly evict: readonly [string, T] | undefined;
      /** Ends the reservation once the session is registered (or was not created). */
      release(): void;
    }
  | {
      readonly ok: false;
      readonly status: 429 | 503;
      readonly reason: "principal_cap" | "ceiling";
      readonly message: string;
    };

/**
 * The HTTP sessions by id, each bound to the principal that opened it. A lookup with another
 * principal finds nothing, exactly as for an unknown id. Admission counts sessions being initialized
 * (reserved) too, so concurrent initializes cannot overshoot a cap; a principal at its cap, or at the
 * global ceiling, may only give up its own least recently used idle session — never another's.
 */
export class SessionTable<T extends TableEntry> {
  private readonly byId = new Map<string, T>();
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;

  constructor(private readonly ceiling: number) {}

  get size(): number {
    return this.byId.size;
  }

  /** The session, only when it exists and belongs to `principal`. */
  lookup(id: string, principal: string): T | undefined {
    const live = this.byId.get(id);
    return live !== undefined && live.principal === principal ? live : undefined;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  set(id: string, live: T): void {
    this.byId.set(id, live);
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  entries(): IterableIterator<[string, T]> {
    return this.byId.entries();
  }

  /** Open sessions per principal. */
  countByPrincipal(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const live of this.byId.values()) out[live.principal] = (out[live.principal] ?? 0) + 1;
    return out;
  }

  admit(principal: Principal): Admission<T> {
    const name = principal.name;
    let own = this.reserved.get(name) ?? 0;
    for (const live of this.byId.values()) if (live.principal === name) own++;
    let evict: readonly [string, T] | undefined;
    if (own >= principal.maxSessions) {
      evict = this.oldestIdle(name);
      if (!evict)
        return {
          ok: false,
          status: 429,
          reason: "principal_cap",
          message: `Too many sessions: principal "${name}" has ${principal.maxSessions} open, all in use (its cap); close one (HTTP DELETE) or raise http.maxSessionsPerPrincipal`,
        };
    } else if (this.byId.size + this.reservedTotal >= this.ceiling) {
      evict = this.oldestIdle(name);
      if (!evict)
        return {
          ok: false,
          status: 503,
          reason: "ceiling",
          message: `Server busy: ${this.ceiling} sessions are open (http.maxSessions); try again later`,
        };
    }
    this.reserved.set(name, (this.reserved.get(name) ?? 0) + 1);
    this.reservedTotal++;
    let released = false;
    return {
      ok: true,
      evict,
      release: () => {
        if (released) return;
        released = true;
        this.reservedTotal--;
        const left = (this.reserved.get(name) ?? 1) - 1;
        if (left > 0) this.reserved.set(name, left);
        else this.reserved.delete(name);
      },
    };
  }

  /** The principal's least recently used session with no request open. */
  private oldestIdle(principal: string): readonly [string, T] | undefined {
    let oldest: [string, T] | undefined;
    for (const entry of this.byId) {
      const live = entry[1];
      if (live.principal !== principal || live.active > 0) continue;
      if (!oldest || live.lastSeen < oldest[1].lastSeen) oldest = entry;
    }
    return oldest;
  }
}
