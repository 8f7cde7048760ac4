/** A JSON object: not null, not an array. The one guard every module uses to read untrusted JSON. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
