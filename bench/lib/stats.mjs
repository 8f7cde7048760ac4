/** Small statistics and formatting helpers for the benchmark harness (no dependencies). */

/** Nearest-rank percentile of an already sorted array (p in 0..100). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** p50 / p90 / p95 / p99 / mean / min / max of a list of samples (milliseconds). */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: n ? sum / n : Number.NaN,
    min: n ? sorted[0] : Number.NaN,
    max: n ? sorted[n - 1] : Number.NaN,
  };
}

export function median(values) {
  return percentile(Float64Array.from(values).sort(), 50);
}

/** Rounds for JSON output (keeps results files readable). */
export function round(x, digits = 3) {
  if (typeof x !== "number" || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fmtMs(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

export function fmtSigned(x, digits = 3) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
}

export function fmtPct(x) {
  return typeof x === "number" && Number.isFinite(x) ? `${Math.round(x * 100)} %` : "–";
}

export function fmtInt(x) {
  return typeof x === "number" && Number.isFinite(x) ? String(Math.round(x)) : "–";
}

/** A GitHub-flavoured markdown table. */
export function table(headers, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c ?? "")).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
