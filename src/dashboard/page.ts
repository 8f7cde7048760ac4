/**
 * The dashboard's HTML: one page, its first state embedded as JSON, a small script that renders it and
 * then polls `state.json` once a second (docs/operations.md "Dashboard"). Everything shown is set with
 * textContent, never as HTML: tool names and error texts come from downstream servers. ASCII only (the
 * bundle keeps ASCII chunks one byte per character).
 */

/** How often the page asks for a new state, ms. */
export const POLL_MS = 1_000;

const STYLE = `
:root { color-scheme: light dark; --red: #c62828; --amber: #b26a00; --green: #2e7d32; --grey: #777; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 1rem 0 .5rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; }
tr[data-health] td:first-child { border-left: 4px solid var(--grey); }
tr[data-health="up"] td:first-child { border-left-color: var(--green); }
tr[data-health="degraded"] td:first-child { border-left-color: var(--amber); }
tr[data-health="down"] { background: #c6282822; }
tr[data-health="down"] td:first-child { border-left-color: var(--red); }
tr[data-health="down"] .state { color: var(--red); font-weight: 600; }
.ok { color: var(--green); } .bad { color: var(--red); } .muted { color: var(--grey); }
.err { max-width: 40rem; overflow-wrap: anywhere; }
#live { font-size: .85rem; } #live.stale { color: var(--red); font-weight: 600; }
details { margin: .3rem 0; } summary { cursor: pointer; }
.bar { display: inline-block; height: .7rem; background: #1565c0aa; min-width: 1px; vertical-align: middle; }
form.logout { margin-left: auto; }
`;

/** The browser side: renders a DashboardState (state.ts) into the page; polls for the next one. */
const SCRIPT = `
"use strict";
const POLL_MS = ${POLL_MS};
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const k of kids) if (k !== undefined && k !== null) e.append(k instanceof Node ? k : String(k));
  return e;
}
function td(text, cls) { return el("td", cls ? { class: cls } : {}, text); }
function ms(n) { return n === undefined ? "" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : String(Math.round(n)); }
function pct(r) { return (r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0) + " %"; }
function time(iso) { const d = new Date(iso); return d.toLocaleTimeString(undefined, { hour12: false }); }
function table(id, head, rows, empty) {
  const t = document.getElementById(id);
  const body = el("tbody");
  for (const r of rows) body.append(r);
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colspan: head.length, class: "muted" }, empty)));
  t.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", h.startsWith("#") ? { class: "num" } : {}, h.replace(/^#/, ""))))), body);
}
function serverRow(s) {
  const breaker = s.breaker + (s.retryAfterS !== undefined ? " (retry in " + s.retryAfterS + " s)" : "");
  const proto = s.protocolVersion ? s.protocolVersion + " (" + s.generation + ")" : "";
  const r = s.recent;
  return el("tr", { "data-server": s.name, "data-health": s.health },
    td(s.name), el("td", { class: "state" }, s.state + (s.skipReason ? ": " + s.skipReason : "")), td(proto), td(s.tools, "num"),
    td(breaker), td(r.calls, "num"), td(pct(r.errorRate), "num"), td(ms(r.p50Ms), "num"), td(ms(r.p99Ms), "num"),
    td(s.inFlight + " / " + s.queued, "num"), td(s.restarts, "num"),
    td(s.lastError ? time(s.lastError.at) + " " + s.lastError.message : "", "err"));
}
function callRow(c) {
  return el("tr", { "data-call-id": c.id, "data-tool": c.tool, "data-outcome": c.outcome },
    td(time(c.at)), td(c.tool), td(c.server), el("td", { class: c.outcome === "ok" ? "ok" : "bad" }, c.outcome),
    td(ms(c.durationMs), "num"), td(c.principal || ""), td(c.error || "", "err"));
}
function bar(start, share) {
  const b = el("span", { class: "bar" });
  // CSSOM, not a style attribute: allowed by the page's CSP.
  b.style.marginLeft = Math.round(Math.min(1, start) * 240) + "px";
  b.style.width = Math.round(Math.min(1, share) * 240) + "px";
  return b;
}
function runBlock(w) {
  const total = Math.max(1, w.durationMs || w.steps.reduce((a, t) => a + t.durationMs, 0));
  const steps = w.steps.map((t) => el("tr", { "data-step": t.id, "data-status": t.status },
    td(t.id), td(t.tool), el("td", { class: t.status === "ok" ? "ok" : t.status === "skipped" ? "muted" : "bad" }, t.status),
    td(ms(t.durationMs), "num"), td(t.attempts, "num"),
    el("td", {}, bar((t.startMs || 0) / total, t.durationMs / total)),
    td(t.error || t.reason || "", "err")));
  const head = el("tr", {}, ...["step", "tool", "status", "ms", "calls", "timing", "error"].map((h) => el("th", {}, h)));
  const summary = el("summary", {}, time(w.startedAt) + "  " + w.name + ": " + w.status +
    (w.durationMs !== undefined ? " in " + ms(w.durationMs) + " ms" : "") + (w.principal ? " (" + w.principal + ")" : "") +
    (w.failed ? " - failed at " + w.failed.step + ": " + w.failed.error : ""));
  return el("details", { "data-run": w.id, "data-status": w.status, open: w.status === "running" ? "" : undefined },
    summary, el("table", {}, el("thead", {}, head), el("tbody", {}, ...steps)));
}
// Which runs the viewer opened or closed (by run id): kept across renders; new runs open while running.
const opened = new Map();
function render(s) {
  document.getElementById("version").textContent = "v" + s.version + ", " + s.tools + " tools";
  document.getElementById("window").textContent = s.windowMinutes;
  table("servers", ["server", "state", "protocol", "#tools", "breaker", "#calls", "#errors", "#p50 ms", "#p99 ms", "#in flight / queued", "#restarts", "last error"],
    s.servers.map(serverRow), "no servers configured");
  const b = s.builtin;
  document.getElementById("builtin").textContent = "Meta-tools and workflows: " + b.calls + " calls, " + pct(b.errorRate) + " errors, p50 " + ms(b.p50Ms) + " ms, p99 " + ms(b.p99Ms) + " ms";
  const callHead = ["time", "tool", "server", "outcome", "#ms", "principal", "error"];
  table("calls", callHead, s.calls.map(callRow), "no calls yet");
  table("failures", callHead, s.failures.map(callRow), "no failures");
  const runs = document.getElementById("runs");
  for (const d of runs.querySelectorAll("details")) opened.set(d.getAttribute("data-run"), d.open);
  const blocks = s.workflows.map(runBlock);
  for (const d of blocks) {
    const id = d.getAttribute("data-run");
    if (opened.has(id)) d.open = opened.get(id);
  }
  for (const id of [...opened.keys()]) if (!s.workflows.some((w) => String(w.id) === id)) opened.delete(id);
  runs.replaceChildren(...(blocks.length ? blocks : [el("p", { class: "muted" }, "no workflow runs yet")]));
  const live = document.getElementById("live");
  live.textContent = "updated " + time(s.at);
  live.className = "";
  document.body.setAttribute("data-updated", s.at);
}
async function poll() {
  if (!document.hidden) {
    try {
      const res = await fetch("state.json", { cache: "no-store", credentials: "same-origin" });
      if (res.status === 401) { location.href = "login"; return; }
      if (!res.ok) throw new Error("HTTP " + res.status);
      render(await res.json());
    } catch (e) {
      const live = document.getElementById("live");
      live.textContent = "not updating: " + e.message;
      live.className = "stale";
    }
  }
  setTimeout(poll, POLL_MS);
}
render(JSON.parse(document.getElementById("initial").textContent));
setTimeout(poll, POLL_MS);
`;

/** Text for an HTML text node or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside a <script> element: no "</script>" or "<!--" can end or change it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The dashboard page. `base` is the dashboard's path with a trailing slash (relative URLs resolve there). */
export function dashboardPage(state: unknown, nonce: string, options: { readonly logout: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>autonomous-mcp dashboard</title><base href="/dashboard/"><style nonce="${nonce}">${STYLE}</style></head>
<body>
<header><h1>autonomous-mcp</h1><span id="version"></span><span id="live">live</span>
${options.logout ? '<form class="logout" method="post" action="logout"><button type="submit">Log out</button></form>' : ""}</header>
<noscript><p>This page updates itself with JavaScript; without it, read <a href="state.json">state.json</a>.</p></noscript>
<h2>Servers <span class="muted">(calls, errors and latency over the last <span id="window"></span> minutes)</span></h2>
<table id="servers"></table>
<p id="builtin" class="muted"></p>
<h2>Recent calls</h2>
<table id="calls"></table>
<h2>Recent failures</h2>
<table id="failures"></table>
<h2>Workflow runs</h2>
<div id="runs"></div>
<script type="application/json" id="initial">${scriptJson(state)}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}

/** The login form (a browser cannot send a bearer header when it opens a page). */
export function loginPage(nonce: string, message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>autonomous-mcp dashboard: log in</title><style nonce="${nonce}">${STYLE} form { max-width: 28rem; } input { width: 100%; margin: .4rem 0; }</style></head>
<body><h1>autonomous-mcp dashboard</h1>
${message ? `<p class="bad" id="message">${escapeHtml(message)}</p>` : ""}
<form method="post" action="/dashboard/login">
<label for="token">Bearer token (the one MCP clients of this server send)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="muted">The token is kept in an HttpOnly, SameSite=Strict cookie for this path only, and checked like the Authorization header on every request.</p>
</body></html>
`;
}
