/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * the built CLI in stdio mode with `--dashboard-port`, two fault servers behind it, a token. A browser
 * logs in with the form, sees a call made through the MCP client appear without a reload, and sees a
 * server that went down turn its row red. The screenshot in docs/images/dashboard.png is this page
 * (written there when AMCP_UPDATE_SCREENSHOT=1).
 *
 * Skipped only when Chromium is missing outside CI; in CI (.ci/run installs it) it always runs.
 */
import { existsSync } from "node:fs";
import { rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ROOT, tempDir, writeConfig, type StdioHarness, type TempDir } from "../helpers/aggregator.js";
import { faultServerEntry, startWithDashboard } from "../helpers/dashboard.js";

const CHROMIUM = "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
const runIt = present || process.env["CI"] !== undefined;
const TOKEN = "browser-test-token-0123456789";

describe.skipIf(!runIt)(
  runIt
    ? "dashboard in headless Chromium"
    : `dashboard in headless Chromium: SKIPPED, ${CHROMIUM} is missing (apt-get install chromium; CI installs it)`,
  () => {
    let tmp: TempDir;
    let h: StdioHarness;
    let url: string;
    let browser: Browser;
    let page: Page;
    let release: string;
    /** Script errors and CSP violations on the page: none expected. */
    const pageErrors: string[] = [];

    beforeAll(async () => {
      tmp = await tempDir("amcp-browser-");
      // "beta" answers initialize only while the release file exists: deleting it and crashing beta
      // keeps it down (restarting, never ready again) for as long as the test looks.
      release = path.join(tmp.dir, "release");
      await writeFile(release, "");
      const config = await writeConfig(tmp.dir, {
        mcpServers: {
          alpha: faultServerEntry("normal"),
          beta: faultServerEntry("hold_initialize", { FAULT_RELEASE_FILE: release }),
        },
      });
      ({ harness: h, url } = await startWithDashboard(config, { AUTONOMOUS_MCP_TOKEN: TOKEN }));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--no-first-run",
        ],
      });
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        // The 401 of the first visit is the one console error a browser reports by itself.
        if (message.type() === "error" && !message.text().includes("401")) pageErrors.push(message.text());
      });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await h?.close();
      await tmp?.cleanup();
    });

    it("logs in with the form and shows every server", async () => {
      const first = await page.goto(url);
      expect(first?.status()).toBe(401);
      await page.fill("#token", TOKEN);
      await Promise.all([page.waitForURL(url), page.click("button[type=submit]")]);
      await page.waitForSelector('tr[data-server="alpha"][data-health="up"]');
      await page.waitForSelector('tr[data-server="beta"][data-health="up"]');
      // The token is in a cookie no script can read.
      expect(await page.evaluate("document.cookie")).toBe("");
      const cookies = await page.context().cookies();
      expect(cookies).toEqual([
        expect.objectContaining({
          name: "amcp_dashboard",
          httpOnly: true,
          sameSite: "Strict",
          path: "/dashboard",
        }),
      ]);
    });

    it("lists a call made through the MCP client without a reload", async () => {
      // A mark on the window: a reload would lose it.
      await page.evaluate("window.mark = 42");
      const result = (await h.client.callTool({
        name: "alpha_echo",
        arguments: { message: "hi" },
      })) as CallToolResult;
      expect(result.content).toEqual([{ type: "text", text: "hi" }]);
      await page.waitForSelector('#calls tr[data-tool="alpha_echo"][data-outcome="ok"]');
      await h.client.callTool({ name: "alpha_fail_tool", arguments: {} });
      const failure = await page.waitForSelector('#failures tr[data-tool="alpha_fail_tool"]');
      expect(await failure.textContent()).toContain("tool failed on purpose");
      await h.client.callTool({
        name: "run_workflow",
        arguments: {
          workflow: {
            steps: [
              { id: "greet", tool: "alpha_echo", args: { message: "one" } },
              { id: "wait", tool: "alpha_slow", args: { ms: 50 }, dependsOn: ["greet"] },
            ],
          },
        },
      });
      const run = '#runs details[data-status="ok"]';
      await page.waitForSelector(`${run} tr[data-step="wait"][data-status="ok"]`, { state: "attached" });
      // Opened by the viewer, the run stays open across the next renders.
      await page.click(`${run} summary`);
      // (Selectors, not waitForFunction: the page's CSP forbids the eval that one would need.)
      const seen = await page.getAttribute("body", "data-updated");
      await page.waitForSelector(`body[data-updated]:not([data-updated="${seen}"])`, { state: "attached" });
      await page.waitForSelector(`${run}[open] tr[data-step="greet"][data-status="ok"]`);
      expect(await page.evaluate("window.mark")).toBe(42);
    });

    it("turns a server's row red when it goes down", async () => {
      await rm(release);
      const crash = (await h.client.callTool({ name: "beta_crash", arguments: {} })) as CallToolResult;
      expect(crash.isError).toBe(true);
      const row = await page.waitForSelector('tr[data-server="beta"][data-health="down"]');
      expect(await row.getAttribute("data-health")).toBe("down");
      const colour = await page.evaluate(
        `getComputedStyle(document.querySelector('tr[data-server="beta"] td')).borderLeftColor`,
      );
      expect(colour).toBe("rgb(198, 40, 40)");
      expect(await page.getAttribute('tr[data-server="alpha"]', "data-health")).toBe("up");
      expect(await page.evaluate("window.mark")).toBe(42);
    });

    it("takes the screenshot shown in the docs", async () => {
      const shot = path.join(
        process.env["AMCP_UPDATE_SCREENSHOT"] === "1" ? path.join(ROOT, "docs", "images") : tmp.dir,
        "dashboard.png",
      );
      await page.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(10_000);
      expect(pageErrors).toEqual([]);
    });
  },
);
