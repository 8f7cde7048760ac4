import { Aggregator } from "../aggregator.js";
import type { LoadedConfig } from "../config/load.js";
import type { Logger } from "../logger.js";
import { registerMetaTools } from "../meta/index.js";
import { registerWorkflows } from "../workflows/register.js";

export interface ToolsCommandIo {
  readonly json: boolean;
  readonly say: (line: string) => void;
  readonly out: (text: string) => void;
}

/** `autonomous-mcp tools`: connect, print public name / server / original name, exit. */
export async function listTools(loaded: LoadedConfig, log: Logger, io: ToolsCommandIo): Promise<number> {
  const aggregator = new Aggregator(loaded, { log });
  registerMetaTools(aggregator);
  registerWorkflows(aggregator, loaded, log);
  try {
    const summary = await aggregator.start({});
    const rows = [...aggregator.catalog().tools.entries()].map(([name, t]) =>
      t.kind === "downstream"
        ? {
            name,
            server: t.route.server,
            original: t.route.originalName,
            readOnly: t.route.policy.hints.readOnly,
          }
        : {
            name,
            server: `(${t.kind})`,
            original: t.name,
            readOnly: t.definition.annotations?.readOnlyHint === true,
          },
    );
    if (io.json) {
      io.out(`${JSON.stringify({ tools: rows, servers: summary }, null, 2)}\n`);
    } else {
      const w1 = Math.max(11, ...rows.map((r) => r.name.length));
      const w2 = Math.max(6, ...rows.map((r) => r.server.length));
      io.out(`${"PUBLIC NAME".padEnd(w1)}  ${"SERVER".padEnd(w2)}  ORIGINAL NAME\n`);
      for (const r of rows)
        io.out(
          `${r.name.padEnd(w1)}  ${r.server.padEnd(w2)}  ${r.original}${r.readOnly ? "  (read-only)" : ""}\n`,
        );
      for (const s of summary.skipped) io.say(`${s.name}: skipped (${s.reason})`);
      for (const f of summary.failed) io.say(`${f.name}: failed (${f.reason})`);
    }
    return summary.failed.length > 0 ? 1 : 0;
  } finally {
    await aggregator.shutdown(0);
  }
}
