import http from "node:http";
import type { AddressInfo } from "node:net";

/** The loopback redirect target of `login` (RFC 8252 §7.3): one callback, then it closes. */
export interface LoopbackListener {
  readonly redirectUrl: string;
  /** The callback's query; rejects after `timeoutMs` without one. */
  waitForCallback(timeoutMs: number): Promise<URLSearchParams>;
  close(): Promise<void>;
}

const PAGE = (text: string): string =>
  `<!doctype html><meta charset="utf-8"><title>autonomous-mcp</title><p>${text}</p>`;

export async function startLoopback(port: number): Promise<LoopbackListener> {
  let deliver: ((params: URLSearchParams) => void) | undefined;
  const arrived = new Promise<URLSearchParams>((resolve) => (deliver = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== "/callback" || !deliver) {
      res.writeHead(404, { "content-type": "text/html" }).end(PAGE("Not found."));
      return;
    }
    const ok = url.searchParams.has("code");
    res
      .writeHead(ok ? 200 : 400, { "content-type": "text/html", "cache-control": "no-store" })
      .end(
        PAGE(ok ? "Signed in. You can close this window." : "Sign-in was not completed; see the terminal."),
      );
    const once = deliver;
    deliver = undefined;
    once(url.searchParams);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    redirectUrl: `http://127.0.0.1:${bound}/callback`,
    waitForCallback: (timeoutMs) =>
      new Promise<URLSearchParams>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no sign-in arrived within ${Math.round(timeoutMs / 1000)} s`)),
          timeoutMs,
        );
        void arrived.then((params) => {
          clearTimeout(timer);
          resolve(params);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
