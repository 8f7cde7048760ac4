import { request } from "node:http";
import { faultServerEntry } from "./fault-server.js";
import { ROOT, startStdio, waitFor, type StdioHarness } from "./aggregator.js";
import path from "node:path";

export const LEAKY_SERVER = path.join(ROOT, "test", "fixtures", "leaky-error-server.mjs");

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with exactly these headers (fetch cannot set Host). */
export function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The built CLI over stdio with `--dashboard-port 0`; resolves once the dashboard's URL is known. */
export async function startWithDashboard(
  configPath: string,
  env: Record<string, string> = {},
): Promise<{ harness: StdioHarness; url: string }> {
  const harness = await startStdio(configPath, { args: ["--dashboard-port", "0"], env });
  let url = "";
  await waitFor(() => {
    const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/dashboard\/)/.exec(harness.stderr());
    url = m?.[1] ?? "";
    return url !== "";
  }, 20_000);
  return { harness, url };
}

export { faultServerEntry };
