import type { LoadedConfig } from "../config/load.js";
import { renderTable } from "../cli/table.js";
import { style as plainStyle } from "../cli/terminal.js";
import type { Logger } from "../logger.js";
import { createAggregator } from "../compose.js";
import type { ReportIo } from "./doctor.js";
import { watchProgress } from "./progress.js";

export interface ToolsCommandIo extends ReportIo {
  /** Lines about skipped and failed servers (stderr in the CLI). */
  readonly say: (line: string) => void;
}

/** `autonomous-mcp tools`: connect, print public name / server / original name, exit. */
export async function listTools(loaded: LoadedConfig, log: Logger, io: ToolsCommandIo): Promise<number> {
  const aggregator = createAggregator(loaded, { log });
  const stopProgress = watchProgress(aggregator.startup, loaded, io);
  try {
    const summary = await aggregator.start({});
    stopProgress();
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
      const s = io.style ?? plainStyle(false);
      io.out(
        renderTable(
          rows,
          [
            { head: "PUBLIC NAME", cell: (r) => r.name, paint: (t) => s.bold(t) },
            { head: "SERVER", cell: (r) => r.server },
            {
              head: "ORIGINAL NAME",
              cell: (r) => `${r.original}${r.readOnly ? "  (read-only)" : ""}`,
              paint: (t, r) => (r.readOnly ? s.green(t) : t),
            },
          ],
          s,
        ),
      );
      for (const s of summary.skipped) io.say(`${s.name}: skipped (${s.reason})`);
      for (const f of summary.failed) io.say(`${f.name}: failed (${f.reason})`);
    }
    return summary.failed.length > 0 ? 1 : 0;
  } finally {
    stopProgress();
    await aggregator.shutdown(0);
  }
}
