/**
 * HTTP `Retry-After` from a remote server that refused a request (429 Too Many Requests, 503 Service
 * Unavailable): the retry layer waits that long before the next attempt, within the call's deadline.
 */

/** Statuses whose Retry-After we honour. */
const RETRY_STATUSES = new Set([429, 503]);

/** Longest wait we read from a header (a day): anything longer is as good as "not within this call". */
const MAX_MS = 86_400_000;

/**
 * `Retry-After: <seconds>` or `Retry-After: <HTTP-date>` → ms to wait (≥ 0), or undefined when the header
 * is missing or malformed.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(MAX_MS, Number(text) * 1000);
  // An HTTP-date (IMF-fixdate, or the obsolete forms Date.parse also reads); a bare number is not a date.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_MS, Math.max(0, at - now));
}

/** An HTTP refusal that says when to come back: thrown by the remote transports' fetch. */
export class RetryAfterError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number,
    body: string,
  ) {
    super(
      `HTTP ${status}${body ? `: ${body.slice(0, 500)}` : ""} (Retry-After: ${formatWait(retryAfterMs)})`,
    );
    this.name = "RetryAfterError";
  }
}

/** "2 s", "1.5 s", "250 ms". */
export function formatWait(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`;
}

/**
 * A fetch for the SDK's HTTP client transports: a 429 or 503 answer to a POST that carries a valid
 * Retry-After becomes a RetryAfterError (the SDK's own error would drop the header).
 */
export function fetchWithRetryAfter(base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (!RETRY_STATUSES.has(response.status) || (init?.method ?? "GET").toUpperCase() !== "POST")
      return response;
    const wait = parseRetryAfter(response.headers.get("retry-after"));
    if (wait === undefined) return response;
    throw new RetryAfterError(response.status, wait, (await head(response)).trim());
  };
}

/** The first 4 kB of a body (for the message), the rest left unread: a refusal needs no more. */
async function head(response: Response, limit = 4096): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body that fails half-way: what we have is enough.
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}
