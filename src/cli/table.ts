import type { Style } from "./terminal.js";

export interface Column<Row> {
  readonly head: string;
  readonly cell: (row: Row) => string;
  /** Colours a (padded) cell; the width is measured before colouring. */
  readonly paint?: (text: string, row: Row) => string;
  /** Longest cell before it is cut with "…" (default: no limit). */
  readonly max?: number;
}

/** A plain-text table: a header row (bold with colours on) and aligned columns; the last is not padded. */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], s: Style): string {
  const cells = rows.map((r) => columns.map((c) => cut(c.cell(r), c.max)));
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((row) => (row[i] ?? "").length)));
  const last = columns.length - 1;
  const pad = (text: string, i: number): string => (i === last ? text : text.padEnd(widths[i] ?? 0));
  const head = columns.map((c, i) => pad(c.head, i)).join("  ");
  const body = rows.map((row, r) =>
    columns
      .map((c, i) => {
        const text = pad(cells[r]?.[i] ?? "", i);
        return c.paint ? c.paint(text, row) : text;
      })
      .join("  ")
      .trimEnd(),
  );
  return [s.bold(head.trimEnd()), ...body].join("\n") + "\n";
}

function cut(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}
