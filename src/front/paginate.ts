import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";

/** Cursor = base64url of the offset; opaque to clients, cheap for us. */
export function paginate<T>(
  items: readonly T[],
  cursor: string | undefined,
  pageSize: number,
): { page: T[]; nextCursor?: string } {
  let start = 0;
  if (cursor !== undefined) {
    const decoded = Number(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > items.length) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid cursor: ${cursor}`);
    }
    start = decoded;
  }
  if (pageSize <= 0 || (start === 0 && items.length <= pageSize)) return { page: items as T[] };
  const end = Math.min(items.length, start + pageSize);
  const page = items.slice(start, end);
  return end < items.length
    ? { page, nextCursor: Buffer.from(String(end), "utf8").toString("base64url") }
    : { page };
}
