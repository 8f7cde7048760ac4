/**
 * Safety profile of a well-known server package whose tools ship without annotations: for every tool,
 * the hints we act on (and advertise) in place of the server's own, plus an optional cache TTL.
 *
 * Hint conventions used by the built-in profiles:
 * - readOnlyHint: the tool only reads (get / list / search / health).
 * - idempotentHint: repeating the call with the same arguments leaves the same state (update / set /
 *   move / archive / delete); creates, adds, copies and comments are never idempotent. Read-only tools
 *   are idempotent.
 * - destructiveHint: the tool may remove or irreversibly replace data (archive, delete, remove,
 *   force-push, merge); plain field updates are not destructive.
 * - openWorldHint: the tool talks to an external service.
 * - cacheTtlMs: only on read-only tools whose result may be a little stale (the aggregator also drops a
 *   server's cache on any write through it).
 */
export interface SafetyHints {
  readonly readOnlyHint: boolean;
  readonly idempotentHint: boolean;
  readonly destructiveHint: boolean;
  readonly openWorldHint?: boolean;
}

export interface SafetyProfileTool {
  readonly annotations: SafetyHints;
  readonly cacheTtlMs?: number;
}

export interface SafetyProfile {
  /** npm package name, e.g. `@modelcontextprotocol/server-github`. */
  readonly package: string;
  /** Every tool the package's server lists, by name. */
  readonly tools: Readonly<Record<string, SafetyProfileTool>>;
}

/** Read-only tool talking to an external service (optionally cached for `cacheTtlMs`). */
export function read(cacheTtlMs?: number): SafetyProfileTool {
  const annotations: SafetyHints = {
    readOnlyHint: true,
    idempotentHint: true,
    destructiveHint: false,
    openWorldHint: true,
  };
  return cacheTtlMs === undefined ? { annotations } : { annotations, cacheTtlMs };
}

/** Additive write that is not safe to repeat (create, add, copy, comment). */
export function create(): SafetyProfileTool {
  return {
    annotations: { readOnlyHint: false, idempotentHint: false, destructiveHint: false, openWorldHint: true },
  };
}

/** Write whose repetition leaves the same state (update, set, move, watch). */
export function update(): SafetyProfileTool {
  return {
    annotations: { readOnlyHint: false, idempotentHint: true, destructiveHint: false, openWorldHint: true },
  };
}

/** Removes or irreversibly replaces data; repeating it changes nothing more (archive, delete, remove). */
export function destroy(): SafetyProfileTool {
  return {
    annotations: { readOnlyHint: false, idempotentHint: true, destructiveHint: true, openWorldHint: true },
  };
}

/** Explicit hints (for the odd tool that fits none of the shapes above). */
export function hints(h: SafetyHints, cacheTtlMs?: number): SafetyProfileTool {
  const annotations: SafetyHints = { openWorldHint: true, ...h };
  return cacheTtlMs === undefined ? { annotations } : { annotations, cacheTtlMs };
}
